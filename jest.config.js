// Runs every project's suite in one Jest run (`npm run test:unit`).
const { readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');

function findProjects(dir, out = []) {
  if (existsSync(join(__dirname, dir, 'jest.config.js'))) out.push(`<rootDir>/${dir}`);
  for (const entry of readdirSync(join(__dirname, dir), { withFileTypes: true })) {
    if (entry.isDirectory() && !['node_modules', 'src', 'dist'].includes(entry.name)) {
      findProjects(join(dir, entry.name), out);
    }
  }
  return out;
}

module.exports = { projects: [...findProjects('apps'), ...findProjects('libs'), '<rootDir>/e2e'].sort() };

// Shared Jest settings: SWC transpiles TypeScript (with decorator metadata for
// Nest); type checking is `npm run typecheck`, not Jest's job.
const { join } = require('node:path');
const { root, swcOptions, pathAliases } = require('./tools/build/workspace.cjs');

const moduleNameMapper = {};
for (const [alias, target] of pathAliases()) {
  moduleNameMapper[`^${alias.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`] = target;
}

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swcOptions()] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
  testMatch: ['**/?(*.)+(spec|test).ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: [join(root, 'tools/jest/setup.js')],
};

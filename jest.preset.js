// Shared Jest settings: SWC transpiles TypeScript (with decorator metadata for
// Nest); type checking is `npm run typecheck`, not Jest's job.
// The @openid4vc packages ship only ES modules (`dist/index.mjs`); SWC turns
// them into CommonJS here too, so tests import them in process instead of
// spawning a Node process per call.
const { join } = require('node:path');
const { root, swcOptions, pathAliases } = require('./tools/build/workspace.cjs');

const moduleNameMapper = {};
for (const [alias, target] of pathAliases()) {
  moduleNameMapper[`^${alias.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`] = target;
}

const esmToCjs = { ...swcOptions(), jsc: { ...swcOptions().jsc, parser: { syntax: 'ecmascript' } } };

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['@swc/jest', swcOptions()],
    '^.+/node_modules/@openid4vc/.+\\.mjs$': ['@swc/jest', esmToCjs],
  },
  transformIgnorePatterns: ['/node_modules/(?!@openid4vc/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper,
  testMatch: ['**/?(*.)+(spec|test).ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: [join(root, 'tools/jest/setup.js')],
};

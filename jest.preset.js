// Shared Jest settings: SWC transpiles TypeScript (with decorator metadata for
// Nest); type checking is `npm run typecheck`, not Jest's job.
// The @openid4vc packages ship only ES modules (`dist/index.mjs`); SWC turns
// them into CommonJS here too, so tests import them in process instead of
// spawning a Node process per call. So does content-disposition 3 (ESM-only,
// which Node loads with require(esm); Jest cannot), reached through
// @fastify/static when Swagger UI is served in development.
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
    '^.+/node_modules/content-disposition/dist/.+\\.js$': ['@swc/jest', esmToCjs],
  },
  transformIgnorePatterns: ['/node_modules/(?!@openid4vc/|content-disposition/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper,
  testMatch: ['**/?(*.)+(spec|test).ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  setupFiles: [join(root, 'tools/jest/setup.js')],
};

import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Dependency rules: apps -> features -> platform -> data-access -> util -> domain,
// and a service's code may use only its own scope and the shared one.
const services = ['auth', 'storage', 'engine', 'registry', 'admin', 'verifier'];

// Tests of util libraries may use the shared test helpers (`type:testing`); their code may not.
const moduleBoundaries = (inTests) => [
  'error',
  {
    enforceBuildableLibDependency: true,
    banTransitiveDependencies: false,
    allow: [],
    depConstraints: [
      ...services.map((s) => ({
        sourceTag: `scope:${s}`,
        onlyDependOnLibsWithTags: [`scope:${s}`, 'scope:shared'],
      })),
      { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
      {
        sourceTag: 'scope:all-in-one',
        onlyDependOnLibsWithTags: ['scope:shared', ...services.map((s) => `scope:${s}`)],
      },
      {
        sourceTag: 'type:app',
        onlyDependOnLibsWithTags: ['type:feature', 'type:platform', 'type:data-access', 'type:util', 'type:domain', 'type:testing'],
      },
      {
        sourceTag: 'type:feature',
        onlyDependOnLibsWithTags: ['type:platform', 'type:data-access', 'type:util', 'type:domain', 'type:testing'],
      },
      {
        sourceTag: 'type:platform',
        onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:domain', 'type:testing'],
      },
      { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:util', 'type:domain', 'type:testing'] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:domain'] },
      { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:domain', ...(inTests ? ['type:testing'] : [])] },
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
    ],
  },
];

export default [
  { ignores: ['**/dist', '**/node_modules', '**/tmp', '**/coverage', '**/.nx', '**/*.js', '**/*.mjs'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(false),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Use the guarded outbound client from @wallet/platform, never the global fetch.' },
      ],
    },
  },
  {
    // The client library runs in the user's browser and calls the wallet's own services with the
    // browser's `fetch` (injectable): the guarded outbound client protects servers, not clients.
    files: ['libs/wallet-client/src/**/*.ts'],
    rules: { 'no-restricted-globals': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/*.contract.ts', 'e2e/**/*.ts', 'libs/testing/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: {
      'no-restricted-globals': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': moduleBoundaries(true),
    },
  },
];

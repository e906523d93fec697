import nx from '@nx/eslint-plugin';
import globals from 'globals';

// Dependency rules: apps -> features -> platform -> data-access -> util -> domain,
// and a service's code may use only its own scope and the shared one.
const services = ['auth', 'storage', 'engine', 'registry', 'admin', 'verifier'];

// The shared test helpers (`type:testing`) may be used by test code only: specs, contract suites,
// end-to-end tests, benchmarks and tools (`testFiles` below). Everywhere else the rule refuses them.
const moduleBoundaries = (inTests) => {
  const testing = inTests ? ['type:testing'] : [];
  return [
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
          onlyDependOnLibsWithTags: ['type:feature', 'type:platform', 'type:data-access', 'type:util', 'type:domain', ...testing],
        },
        {
          sourceTag: 'type:feature',
          onlyDependOnLibsWithTags: ['type:platform', 'type:data-access', 'type:util', 'type:domain', ...testing],
        },
        {
          sourceTag: 'type:platform',
          onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:domain', ...testing],
        },
        { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:util', 'type:domain', ...testing] },
        { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:domain'] },
        { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:domain', ...testing] },
        { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
      ],
    },
  ];
};

// Nx's JavaScript preset declares the browser's globals too; a Node script has none of them.
const nodeGlobalsOnly = {
  ...Object.fromEntries(Object.keys(globals.browser).map((name) => [name, 'off'])),
  ...globals.node,
};

const testFiles = ['**/*.spec.ts', '**/*.contract.ts', 'e2e/**/*.ts', 'libs/testing/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'];
const scripts = ['**/*.js', '**/*.mjs', '**/*.cjs'];

export default [
  { ignores: ['**/dist', '**/node_modules', '**/tmp', '**/coverage', '**/.nx'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: {
      // Typed linting: every .ts file is in the root tsconfig.json, which the project service finds.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries(false),
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process).
      '@typescript-eslint/no-floating-promises': 'error',
      // An async callback where the caller expects a void one: its rejection goes nowhere.
      '@typescript-eslint/no-misused-promises': 'error',
      // A `switch` over a union names every member (a `default` does not count), so a new error
      // code or message type gives a lint-time list of places to decide about.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false, allowDefaultCaseForExhaustiveSwitch: true },
      ],
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
    files: testFiles,
    rules: {
      'no-restricted-globals': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@nx/enforce-module-boundaries': moduleBoundaries(true),
    },
  },
  // Plain Node scripts (build, test runner, Jest configs, the CLI, health checks): the same
  // JavaScript rules Nx applies, parsed as what Node loads them as, with Node's globals only.
  ...nx.configs['flat/javascript'],
  {
    files: scripts,
    languageOptions: { ecmaVersion: 2023, globals: nodeGlobalsOnly },
    rules: {
      // typescript-eslint's presets switch no-undef off because the compiler checks names; nothing
      // checks them in plain JavaScript.
      'no-undef': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  // No "type" field in package.json: .js files are CommonJS, like .cjs.
  { files: ['**/*.cjs', '**/*.js'], languageOptions: { sourceType: 'commonjs' } },
  {
    // Jest's custom environment and setup files run inside Jest, which provides its globals.
    files: ['**/jest.config.js', 'jest.preset.js', 'e2e/jest.*.js', 'tools/jest/*.js'],
    languageOptions: { globals: { ...nodeGlobalsOnly, ...globals.jest } },
  },
];

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SERVICES = ['api', 'collector', 'console', 'ingest', 'notifier', 'simulator'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'services/console/lib/**', '**/coverage/**', '**/*.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', AbortController: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    // Services read and write Redis through the store's typed facades (store.books, store.usage,
    // store.slurmMarks, …), which hand out neither the client nor the key names: key and hash field
    // names live in the store and its Lua scripts alone.
    files: ['services/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: '@flopwatch/store', importNames: ['createKeys', 'defineScripts'], message: "Use the store's typed facades (createStore), not key names or raw script commands." }],
      }],
    },
  },
  // No service imports another (or the repository's scripts): shared code lives in packages/*, and a
  // service finds another's output through configuration (the API's CONSOLE_DIR).
  ...SERVICES.map((name) => ({
    files: [`services/${name}/src/**/*.ts`, `services/${name}/bench/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: SERVICES.filter((other) => other !== name).flatMap((other) => [`@flopwatch/${other}`, `@flopwatch/${other}/*`]), message: 'A service imports no other service: move the shared code into packages/*, or take a path from configuration.' },
          { regex: `^(\\.\\./)+(${SERVICES.filter((other) => other !== name).join('|')}|scripts)/`, message: 'A service imports no other service and no repository script: move the shared code into packages/*, or run the script as a command.' },
        ],
      }],
    },
  })),
  {
    files: ['**/*.mjs', '**/*.js'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
);

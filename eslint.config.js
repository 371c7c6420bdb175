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
    // Services read the books through the store's typed facades (store.books, store.usage, …), never
    // its raw Redis client or key builder: hash field names live in the Lua scripts and the store.
    files: ['services/*/src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[property.name=/^(redis|keys)$/][object.type='MemberExpression'][object.property.name='store'], MemberExpression[property.name=/^(redis|keys)$/][object.name='store']",
        message: "Use the store's typed facades, not store.redis / store.keys.",
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

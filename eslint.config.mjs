// ESLint (`npm run lint`, run in CI): typescript-eslint's strict type-checked rules (strictTypeChecked)
// over the TypeScript in src/ and test/. Promise misuse (no-floating-promises, no-misused-promises) and
// `any` in src/ are errors everywhere; the relaxations below each say why.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Browser pages (src/**/page, src/admin/console) and jest's CommonJS helpers are plain JS outside the TypeScript project.
  { ignores: ['dist/', 'node_modules/', 'var/', 'test-artifacts/', 'coverage/', 'bench/', 'scripts/', 'integrations/', 'deploy/', '**/*.js', '**/*.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // `const { secret: _secret, ...shown } = x` drops a field on purpose: a leading underscore marks it.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // String enums (QueueName, JobName) are compared with the plain strings BullMQ and the routes hand over, by design.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Promise.all over a mix of promises and plain values (an optional close(), a record already at hand) is deliberate.
      '@typescript-eslint/await-thenable': ['error', { allowMixedPromiseArrays: true }],
      // A `let` that a callback registered before its one assignment reads cannot become a const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // `async` methods without an await implement async interfaces (CrmProvider, Nest hooks): callers get a promise either way.
      '@typescript-eslint/require-await': 'off',
      // Numbers read plainly in messages and keys (`${ms} ms`, `${callId}:${leg}`); strings, numbers and nothing else.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowAny: false, allowBoolean: false, allowNullish: false, allowRegExp: false, allowNever: false, allowArray: false, allowNumber: true },
      ],
      // Nest modules are empty classes that only carry @Module() (and a static forRoot()): that is how Nest declares them.
      '@typescript-eslint/no-extraneous-class': ['error', { allowWithDecorator: true }],
      // One-line callbacks (`() => stream.close()`, `(r) => setTimeout(r, ms)`) hand back whatever the call returns, unread.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // HubSpot's generated client types its request bodies (and Nest its options) as classes that are plain data holders;
      // both take object literals by design, so "not created by its constructor" is never a bug here.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    // Tests (test/ and the unit specs beside the code) read untyped JSON replies and fake CRM payloads:
    // `any` and what follows from it are allowed there; promise rules stay errors.
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // The fake CRMs stringify (String(x)) whatever a request body holds, as the real APIs would, whatever its declared type.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // Specs require() a module inline where they use it once.
      '@typescript-eslint/no-require-imports': 'off',
      // A spec's `found!` that is wrong throws, and a thrown spec is a failed one: it is the assertion.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // afterAll closes what beforeAll set (`let t: TestApp`; `await t?.close()`): after a failed beforeAll it is unset, which
    // the declared type cannot say. The unit specs in src/ and the fakes and helpers under test/ keep the rule.
    files: ['test/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-unnecessary-condition': 'off' },
  },
);

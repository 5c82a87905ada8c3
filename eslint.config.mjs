import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.opsdesk/**', '.nx/**', 'web/dist/**', '**/*.cjs', '**/*.mjs', 'jest.config.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { '@nx': nx },
    rules: {
      // Module boundaries: services depend on libs only, libs never on services, contracts on nothing.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'scope:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:service'] },
            // the console runs in the browser: the shared contracts only (no Node, Nest or DB libs)
            { sourceTag: 'scope:web', onlyDependOnLibsWithTags: ['scope:contracts'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['typeorm', '@nestjs/*'], message: 'libs/contracts has no Nest or DB imports' }] },
      ],
    },
  },
  {
    // the restriction above is for contracts only
    files: ['libs/!(contracts)/**/*.ts', 'services/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.ts', 'reliability/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // The console (Vite + React, see web/README.md): browser code, hooks rules; it imports contracts only.
    files: ['web/src/**/*.{ts,tsx}', 'web/vite.config.ts'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'e2e/**/*.ts', 'reliability/**/*.ts', 'libs/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'admin-ui/public/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The admin UI's plain ES modules run in browsers.
    files: ['admin-ui/web/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        ['window', 'document', 'navigator', 'location', 'history', 'localStorage', 'sessionStorage', 'fetch', 'URL', 'URLSearchParams', 'Blob', 'FormData', 'TextEncoder', 'crypto', 'btoa', 'atob', 'setTimeout', 'clearTimeout', 'CSS', 'Intl', 'structuredClone', 'console', 'Node', 'Element', 'HTMLElement', 'HTMLAnchorElement'].map((name) => [name, 'readonly']),
      ),
    },
  },
);

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into dist/ and served by the API at /console/ (services/api/src/plugins/console.ts).
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // Nothing inline: the API's Content Security Policy allows scripts and styles from files only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
});

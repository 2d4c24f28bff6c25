// Two pages, /portal and /console, built to dist/ for the keyward binary to
// serve. The server's Content-Security-Policy allows scripts and styles from
// its own origin only, so nothing may be inlined into the HTML: no
// module-preload polyfill script and no data: URLs.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    rolldownOptions: {
      input: {
        portal: here('portal.html'),
        console: here('console.html'),
      },
    },
  },
});

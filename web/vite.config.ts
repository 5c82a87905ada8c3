import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const contracts = fileURLToPath(new URL('../libs/contracts/src/index.ts', import.meta.url));

/**
 * The console: built to web/dist (content-hashed assets under /assets, served by the gateway with long-cache
 * headers; index.html is revalidated). `npm run dev:web` proxies /api to a running gateway (GATEWAY_URL,
 * default http://127.0.0.1:8000).
 */
export default defineConfig({
  plugins: [react()],
  publicDir: 'public-static',
  resolve: { alias: { '@opsdesk/contracts': contracts } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Vite inlines small assets as data: URLs and may emit a module-preload polyfill as inline code; the CSP has
    // script-src 'self' only, so keep everything in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // one entry chunk (React, Mantine, TanStack Query, the router, the dashboard and host list); the other pages
    // are lazy chunks. Splitting vendors out made the first load larger (the vendor chunk kept components only
    // lazy pages use), measured in web/README.md.
    chunkSizeWarningLimit: 900,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8000', changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});

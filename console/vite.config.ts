import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The operator console: a static single-page app, built into `dist/console/` and served by the
 * gateway under `/console/`. It talks to the same origin's `/graphql` (HTTP and graphql-ws).
 *
 * `npm run dev:console` serves it with hot reload at http://127.0.0.1:5173/console/ and proxies
 * `/graphql` (both HTTP and WebSocket) to a gateway on GATEWAY_URL (default http://127.0.0.1:4000),
 * so the page and its API stay on one origin, as they will when the gateway serves it.
 */
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000';
const proxy = { '/graphql': { target: gateway, ws: true } };

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  // No .env files: the console has no build-time configuration.
  envDir: false,
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Every asset a file of its own: nothing becomes a data: URL the page's CSP would have to allow.
    assetsInlineLimit: 0,
    target: 'es2022',
    // Modern browsers only: no polyfill code in the entry.
    modulePreload: { polyfill: false },
    // Mantine's components are one library; splitting it saves nothing for an internal page.
    chunkSizeWarningLimit: 1200,
  },
  server: { host: '127.0.0.1', port: 5173, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
});

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../observability/logger.js';

/**
 * The operator console (`console/`, a Vite app) under `/console/`: its built files, served as
 * they are, with a Content-Security-Policy that allows no inline script or style and no
 * origin but this one (the page talks to this gateway's `/graphql` over HTTP and graphql-ws).
 * Routes live in the URL hash, so only the page, its assets and its icon have paths.
 *
 * Built by `npm run build` (and by `npm start`'s first run); from the sources the files are in
 * `dist/console/`, from the compiled gateway beside it.
 */

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.png': 'image/png',
};

const SAFE_ASSET = /^[A-Za-z0-9._-]{1,200}$/;

/** The folder of the built console: `dist/console` seen from `src/gateway/` or from `dist/gateway/`. */
export function consoleDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.resolve(here, '../console'), path.resolve(here, '../../dist/console')].find((dir) =>
    existsSync(path.join(dir, 'index.html')),
  );
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CSP)
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY');
}

export function registerConsole(app: FastifyInstance, logger: Logger, dir = consoleDir()): void {
  if (!dir) {
    logger.warn('the operator console is not built (run `npm run build:console`): /console answers 503');
    app.get('/console*', async (_request, reply) =>
      securityHeaders(reply)
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The operator console is not built: run `npm run build:console` and restart.\n'),
    );
    return;
  }
  const index = path.join(dir, 'index.html');
  const sendIndex = async (reply: FastifyReply) =>
    securityHeaders(reply)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(await readFile(index));

  app.get('/console', async (_request, reply) => reply.redirect('/console/', 308));
  app.get('/console/', async (_request, reply) => sendIndex(reply));
  app.get('/console/index.html', async (_request, reply) => sendIndex(reply));
  app.get<{ Params: { file: string } }>('/console/favicon.svg', async (_request, reply) =>
    securityHeaders(reply)
      .header('cache-control', 'no-cache')
      .type(TYPES['.svg'])
      .send(await readFile(path.join(dir, 'favicon.svg'))),
  );
  // Hashed file names: each is immutable. Only plain names inside assets/ are served.
  app.get<{ Params: { file: string } }>('/console/assets/:file', async (request, reply) => {
    const { file } = request.params;
    const type = TYPES[path.extname(file)];
    const full = path.join(dir, 'assets', file);
    if (!SAFE_ASSET.test(file) || !type || !existsSync(full)) {
      return reply.code(404).type('text/plain; charset=utf-8').send('Not found\n');
    }
    return securityHeaders(reply)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(type)
      .send(await readFile(full));
  });
}

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { introspectionFromSchema, type GraphQLSchema } from 'graphql';
import type { Logger } from '../observability/logger.js';

/**
 * GraphiQL at `GET /graphql` for a browser, outside production, served from its npm package
 * (the machine may be offline: nothing comes from a CDN). GraphiQL 4 is the last line that
 * ships a browser build (UMD) beside its ES modules; it needs React 18's UMD builds, which
 * React 19 no longer ships. All of them are devDependencies: a production image has none.
 *
 * The page has no inline script (its start-up code is `graphiql-init.js`, served from here)
 * and says so in its Content-Security-Policy. The schema comes from `/graphiql/schema.json`,
 * not from an introspection query: the standard one nests 13 levels deep and the depth limit
 * (8) refuses it, as it would any other query that deep.
 */

export interface GraphiqlOptions {
  schema: GraphQLSchema;
  logger: Logger;
  /** Pre-filled in the headers editor as `x-api-key`: only the well-known development key, never another. */
  developmentApiKey?: string;
}

export type SendGraphiql = (reply: FastifyReply) => FastifyReply;

const PREFIX = '/graphiql';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const JS = 'text/javascript; charset=utf-8';

/** True when a browser navigates to the endpoint (it asks for HTML); API clients never ask for it. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return request.method === 'GET' && typeof accept === 'string' && accept.includes('text/html');
}

/**
 * Registers the IDE's files under `/graphiql/` and returns what answers `GET /graphql` with
 * the page; undefined when GraphiQL is not installed (`npm ci --omit=dev`), which is logged.
 */
export function registerGraphiql(app: FastifyInstance, opts: GraphiqlOptions): SendGraphiql | undefined {
  const require = createRequire(import.meta.url);
  const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));
  let files: Record<string, { file: string; type: string }>;
  try {
    files = {
      'react.js': { file: path.join(packageDir('react'), 'umd', 'react.production.min.js'), type: JS },
      'react-dom.js': { file: path.join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: JS },
      'graphiql.js': { file: path.join(packageDir('graphiql'), 'graphiql.min.js'), type: JS },
      'graphiql.css': { file: path.join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
      'init.js': { file: fileURLToPath(new URL('./graphiql-init.js', import.meta.url)), type: JS },
      'page.css': {
        file: fileURLToPath(new URL('./graphiql-page.css', import.meta.url)),
        type: 'text/css; charset=utf-8',
      },
    };
  } catch (err) {
    opts.logger.warn({ err: (err as Error).message }, 'GraphiQL is not installed: no IDE at GET /graphql');
    return undefined;
  }
  // Another React or GraphiQL major (React 19 has no UMD build) leaves a file out: say which, serve no page.
  const missing = Object.values(files).find(({ file }) => !existsSync(file));
  if (missing) {
    opts.logger.warn({ file: missing.file }, 'a GraphiQL file is missing: no IDE at GET /graphql');
    return undefined;
  }

  for (const [name, { file, type }] of Object.entries(files)) {
    app.get(`${PREFIX}/${name}`, async (_req, reply) =>
      reply
        .type(type)
        .header('cache-control', 'no-cache')
        .send(await readFile(file)),
    );
  }
  // Computed once: the schema does not change while the process runs.
  const introspection = JSON.stringify(introspectionFromSchema(opts.schema));
  app.get(`${PREFIX}/schema.json`, async (_req, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(introspection),
  );

  const headers = opts.developmentApiKey ? JSON.stringify({ 'x-api-key': opts.developmentApiKey }, null, 2) : '';
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · deposit gateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${PREFIX}/graphiql.css">
<link rel="stylesheet" href="${PREFIX}/page.css">
</head>
<body>
<div id="graphiql" data-endpoint="/graphql" data-schema="${PREFIX}/schema.json" data-headers="${escapeAttribute(headers)}">Loading GraphiQL…</div>
<script src="${PREFIX}/react.js"></script>
<script src="${PREFIX}/react-dom.js"></script>
<script src="${PREFIX}/graphiql.js"></script>
<script src="${PREFIX}/init.js"></script>
</body>
</html>
`;
  return (reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(page);
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

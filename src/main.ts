import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { startApp, type Role, type RunningApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './observability/logger.js';

/**
 * `tsx src/main.ts gateway|webhooks|all`: one process, one role (or both).
 * SIGTERM/SIGINT: stop accepting, finish in-flight work, close sockets (1001) and pools.
 */
const role = (process.argv[2] ?? 'all') as Role;
if (!['gateway', 'webhooks', 'all'].includes(role)) {
  process.stderr.write(`usage: main.ts gateway|webhooks|all (got "${role}")\n`);
  process.exit(2);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`configuration error: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
const logger = createLogger(config.logLevel);
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

let app: RunningApp | undefined;
let stopping = false;
// Registered before starting: a Ctrl-C while the embedded database starts must still stop it
// (exiting runs its exit hook), rather than kill the process and leave it running.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    if (!app) {
      logger.info({ signal }, 'interrupted while starting');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    app
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, `shutdown failed: ${cause(err)}`);
        process.exit(1);
      });
  });
}

// How AsyncLocalStorage runs here (README, "Running it at scale"): on continuation frames with
// `--experimental-async-context-frame` (Node 24's default), else on promise hooks that every
// promise pays for once MikroORM's first transaction has enabled them.
const asyncContext = '_propagate' in AsyncLocalStorage.prototype ? 'promise hooks' : 'frames';
logger.info({ role, node: process.version, asyncContext }, 'starting');

try {
  app = await startApp(config, role, { logger });
} catch (err) {
  // The cause goes in the line itself: an operator reading `start failed` learns why, and what to do.
  logger.fatal({ err }, `start failed: ${cause(err)}`);
  process.exit(1);
}

/** One line: the error's message (our own errors say what to do), whatever was thrown. */
function cause(err: unknown): string {
  if (err instanceof Error) {
    // A connection refused on every address is an AggregateError with an empty message of its own.
    const inner = err instanceof AggregateError ? err.errors.map((e) => (e as Error).message).join(', ') : '';
    const text = err.message.trim() || inner || err.name;
    const code = (err as NodeJS.ErrnoException).code;
    return (code && !text.includes(code) ? `${code}: ${text}` : text).replace(/\s*\n\s*/g, '; ');
  }
  return err === undefined ? 'no reason given (run with LOG_LEVEL=debug for details)' : String(err);
}

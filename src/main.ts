import 'reflect-metadata';
import { startApp, type Role } from './app.js';
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

const app = await startApp(config, role, { logger }).catch((err: unknown) => {
  logger.fatal({ err }, 'start failed');
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
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
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  });
}

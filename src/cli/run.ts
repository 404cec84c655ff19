import 'reflect-metadata';
import { startApp, type RunningApp } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';

/**
 * Runs a command with the services wired as in the servers (same config, same
 * database: DATABASE_URL, or the embedded one `npm start` is running), then
 * closes everything. Logs go to stderr at `warn` unless LOG_LEVEL says otherwise,
 * so the command's own output on stdout stays readable.
 */
export async function runCli(command: (app: RunningApp) => Promise<number | void>): Promise<never> {
  let config;
  try {
    config = loadConfig(undefined, { LOG_LEVEL: 'warn' });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, process.stderr);
  const app = await startApp(config, 'cli', { logger, background: false });
  let code = 0;
  try {
    code = (await command(app)) ?? 0;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    code = 1;
  } finally {
    await app.close();
  }
  process.exit(code);
}

import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths never written to a log line. Keys, secrets, signatures and tokens are
 * censored wherever they appear in the objects we log (request headers included).
 */
const REDACT_PATHS = [
  'apiKey',
  'clientToken',
  'secret',
  'hmacSecret',
  'password',
  '*.apiKey',
  '*.clientToken',
  '*.secret',
  '*.hmacSecret',
  '*.password',
  'req.headers["x-api-key"]',
  'req.headers["x-payload-hash"]',
  'req.headers["webhook-signature"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-api-key"]',
  'headers["x-payload-hash"]',
  'headers["webhook-signature"]',
  'headers.authorization',
  'connectionParams',
];

/**
 * JSON lines in every environment; pretty printing is a pipe (`| npx pino-pretty`), never the default.
 * Standard output is written asynchronously: the event loop hands each line over and goes on (lines
 * that come while a write is under way leave together in the next one), instead of waiting for a
 * `write(2)` per line. pino writes what is left synchronously when the process exits, so the last
 * lines (`start failed`, `stopped`) are not lost; a SIGKILL loses at most the lines of one write.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }),
  );
}

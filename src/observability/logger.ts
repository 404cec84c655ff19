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

/** JSON lines in every environment; pretty printing is a pipe (`| npx pino-pretty`), never the default. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}

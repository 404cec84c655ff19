import type { FastifyInstance, FastifyReply } from 'fastify';
import { isStorageUnavailable } from '../db/errors.js';
import { registerHealthRoutes, type Health } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, WebhookOutcome } from '../observability/metrics.js';
import { createHttpApp, listen } from '../observability/request-log.js';
import { statusTraceEnabled, traceNow } from '../lib/trace.js';
import type { IntakeOutcome, WebhookIntake } from '../services/webhook-intake.js';

export interface WebhookServerDeps {
  logger: Logger;
  metrics: Metrics;
  intake: WebhookIntake;
  health: Health;
}

const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export interface WebhookServer {
  app: FastifyInstance;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The sidecar's HTTP face. The route only captures the raw body and headers, hands them to
 * the intake (`services/webhook-intake.ts`) and maps its outcome to the contract's answer
 * ("Webhook sidecar"); 200 means committed.
 */
export function createWebhookServer(d: WebhookServerDeps): WebhookServer {
  const app = createHttpApp(d.logger, WEBHOOK_BODY_LIMIT);
  const trace = statusTraceEnabled();
  // Every content type is kept as raw bytes: signatures are over exactly what was sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // fastify refused the request before the route (content type, length, URL): the
      // client's mistake, answered with what it was; the request's one (info) line says so
      // (fastify's code, not its message: a bad-URL message would carry the URL).
      const answer = clientError(err.code, status);
      req.logFields = { outcome: 'refused', code: answer.code, reason: err.code };
      return reply.code(answer.status).send({ code: answer.code, message: answer.message });
    }
    req.log.error({ err }, 'webhook request failed');
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });

  app.post<{ Params: { provider: string } }>('/webhooks/:provider', async (req, reply) => {
    const name = req.params.provider;
    const receivedAt = trace ? traceNow() : undefined;
    const outcome = await d.intake.receive({
      provider: name,
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      headers: lowerHeaders(req.headers),
      sender: req.ip,
      requestId: String(req.id),
      receivedAt,
    });
    const counted = METRIC[outcome.kind];
    if (counted) d.metrics.webhookEvents.inc({ provider: name.slice(0, 32), outcome: counted });
    switch (outcome.kind) {
      case 'unknown-provider':
        return reply.code(404).send({ code: 'UNKNOWN_PROVIDER', message: `unknown provider "${name}"` });
      case 'not-configured':
        return reply
          .code(404)
          .send({ code: 'PROVIDER_NOT_CONFIGURED', message: `provider "${name}" is not configured` });
      case 'throttled':
        return reply
          .code(429)
          .header('retry-after', '60')
          .send({ code: 'TOO_MANY_FAILED_SIGNATURES', message: 'too many failed verifications' });
      case 'invalid-signature':
        return reply.code(401).send({ code: outcome.error.code, message: outcome.error.message });
      case 'malformed': {
        const { message, field } = outcome.error;
        return reply.code(400).send({ code: 'MALFORMED_PAYLOAD', message, field: field ?? null });
      }
      case 'unavailable':
        return storageDown(reply, req.log, outcome.error);
      case 'duplicate':
        // The request's one log line says what became of its event.
        req.logFields = { provider: name, outcome: 'duplicate' };
        return reply.send({ status: 'duplicate' });
      case 'accepted':
        req.logFields = {
          provider: name,
          outcome: outcome.result.outcome,
          inboxId: outcome.inboxId,
          depositId: outcome.result.depositId,
          status: outcome.result.changes.at(-1)?.to,
        };
        return reply.send({ status: 'accepted' });
    }
  });

  registerHealthRoutes(app, d.health, d.metrics);

  return {
    app,
    listen: (port, host) => listen(app, port, host),
    close: () => app.close(),
  };
}

/** `webhook_events_total`'s outcome label of each intake outcome (storage failures are not counted). */
const METRIC: Record<IntakeOutcome['kind'], WebhookOutcome | undefined> = {
  'unknown-provider': 'rejected',
  'not-configured': 'rejected',
  throttled: 'rejected',
  'invalid-signature': 'invalid_signature',
  malformed: 'malformed',
  unavailable: undefined,
  duplicate: 'duplicate',
  accepted: 'accepted',
};

/** The answer to a request fastify refused before it reached the route (its `FST_ERR_*` code and status). */
function clientError(
  fastifyCode: string | undefined,
  status: number,
): { status: number; code: string; message: string } {
  switch (fastifyCode) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `body over ${WEBHOOK_BODY_LIMIT} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'the content-type header is not a media type' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'INVALID_CONTENT_LENGTH', message: 'the body does not match content-length' };
    default:
      if (status === 413) return clientError('FST_ERR_CTP_BODY_TOO_LARGE', status);
      return { status, code: 'BAD_REQUEST', message: 'the request could not be read' };
  }
}

function storageDown(reply: FastifyReply, log: FastifyReply['log'], err: unknown) {
  const known = isStorageUnavailable(err);
  log.warn(
    { err: (err as Error).message },
    known ? 'postgres unavailable: webhook not acknowledged' : 'webhook store failed',
  );
  return reply.code(503).header('retry-after', '5').send({
    code: 'STORAGE_UNAVAILABLE',
    message: 'the event could not be stored; nothing was acknowledged, retry later',
  });
}

function lowerHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

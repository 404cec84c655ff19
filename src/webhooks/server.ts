import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { isStorageUnavailable } from '../db/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics, WebhookOutcome } from '../observability/metrics.js';
import { echoRequestId, OneLinePerRequest, requestId } from '../observability/request-log.js';
import { registerHealthRoutes, type Health } from '../observability/health.js';
import type { EventApplier } from '../services/apply-event.service.js';
import { MalformedPayloadError, SignatureError } from './errors.js';
import { inboxKey } from './inbox.js';
import { isProviderName, type RawWebhook } from './providers/provider.js';
import type { ProviderRegistry } from './providers/registry.js';

export interface WebhookServerDeps {
  logger: Logger;
  metrics: Metrics;
  providers: ProviderRegistry;
  applier: EventApplier;
  health: Health;
  /** The most a request may take before it answers 503 (the contract answers within 10 seconds). */
  deadlineMs?: number;
  /** Verification failures allowed per provider and client address per minute before 429. */
  rateLimitPerMinute?: number;
}

export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export interface WebhookServer {
  app: FastifyInstance;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The sidecar's HTTP face. The route only captures the raw body and headers and
 * walks the steps in order: provider → signature (raw bytes) → shape → durable
 * store → apply. Each way a request can fail has its own answer (contract:
 * "Webhook sidecar"); 200 means committed.
 */
export function createWebhookServer(d: WebhookServerDeps): WebhookServer {
  const app = Fastify({
    loggerInstance: d.logger as FastifyBaseLogger,
    logController: new OneLinePerRequest(),
    bodyLimit: WEBHOOK_BODY_LIMIT,
    requestIdHeader: false,
    genReqId: requestId,
  });
  echoRequestId(app);
  // Every content type is kept as raw bytes: signatures are over exactly what was sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const limiter = new FailureLimiter(d.rateLimitPerMinute ?? 600);

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
    const count = (outcome: WebhookOutcome) => d.metrics.webhookEvents.inc({ provider: name.slice(0, 32), outcome });
    if (!isProviderName(name)) {
      count('rejected');
      return reply.code(404).send({ code: 'UNKNOWN_PROVIDER', message: `unknown provider "${name}"` });
    }
    const adapter = d.providers.webhook(name);
    if (!adapter) {
      count('rejected');
      return reply.code(404).send({ code: 'PROVIDER_NOT_CONFIGURED', message: `provider "${name}" is not configured` });
    }
    const limitKey = `${name}|${req.ip}`;
    if (limiter.exhausted(limitKey)) {
      count('rejected');
      return reply
        .code(429)
        .header('retry-after', '60')
        .send({ code: 'TOO_MANY_FAILED_SIGNATURES', message: 'too many failed verifications' });
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const raw: RawWebhook = { body, headers: lowerHeaders(req.headers) };

    try {
      adapter.verify(raw, new Date());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      limiter.fail(limitKey);
      count('invalid_signature');
      return reply.code(401).send({ code: err.code, message: err.message });
    }
    let event;
    try {
      event = adapter.parse(body);
    } catch (err) {
      if (!(err instanceof MalformedPayloadError)) throw err;
      count('malformed');
      return reply.code(400).send({ code: 'MALFORMED_PAYLOAD', message: err.message, field: err.field ?? null });
    }

    let stored;
    try {
      const deadlineMs = d.deadlineMs ?? 8500;
      stored = await withDeadline(
        d.applier.ingest(
          {
            provider: name,
            dedupeKey: inboxKey(adapter.dedupeKey(raw)),
            headers: storableHeaders(raw.headers),
            body: body.toString('utf8'),
            event,
            requestId: String(req.id),
          },
          { deadline: Date.now() + deadlineMs },
        ),
        deadlineMs,
      );
    } catch (err) {
      // Nothing acknowledged: if the transaction still commits, the provider's retry is a duplicate.
      return storageDown(reply, req.log, err);
    }
    // The request's one log line says what became of its event.
    req.logFields =
      stored.status === 'duplicate'
        ? { provider: name, outcome: 'duplicate' }
        : {
            provider: name,
            outcome: stored.result.outcome,
            inboxId: stored.inboxId,
            depositId: stored.result.depositId,
            status: stored.result.changes.at(-1)?.to,
          };
    if (stored.status === 'duplicate') {
      count('duplicate');
      return reply.send({ status: 'duplicate' });
    }
    count('accepted');
    return reply.send({ status: 'accepted' });
  });

  registerHealthRoutes(app, d.health, d.metrics);

  return {
    app,
    async listen(port, host) {
      await app.listen({ port, host });
      const addr = app.server.address();
      return typeof addr === 'object' && addr ? addr.port : port;
    },
    close: () => app.close(),
  };
}

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

/** Kept with the event so it can be re-verified and audited; everything else about the request is noise. */
const KEPT_HEADERS = [
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-payload-hash',
  'x-request-id',
];
function storableHeaders(h: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEPT_HEADERS) if (h[k] !== undefined) out[k] = h[k]!;
  return out;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`storage did not answer within ${ms} ms (timeout)`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Counts failed verifications per provider and client address in a sliding minute.
 * Only failures count, so a flood of bad signatures is cut off while the provider's
 * real (valid) deliveries from elsewhere keep flowing. Per process: each sidecar
 * protects itself.
 */
class FailureLimiter {
  private readonly windows = new Map<string, { start: number; n: number }>();
  constructor(private readonly perMinute: number) {}

  exhausted(key: string): boolean {
    const w = this.windows.get(key);
    return !!w && Date.now() - w.start < 60_000 && w.n >= this.perMinute;
  }

  fail(key: string): void {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 50_000) this.windows.clear();
      this.windows.set(key, { start: now, n: 1 });
    } else w.n++;
  }
}

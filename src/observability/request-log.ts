import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from './logger.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a route: what its one log line should also say (e.g. a webhook's deposit and outcome). */
    logFields?: Record<string, unknown>;
  }
}

/**
 * One JSON line per request (fastify writes two by default: incoming and completed), with
 * the request id fastify puts on every line of the request. Headers are never logged, nor a
 * URL's query string (`?apiKey=...` would put a key in the log): only its path.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: pathOf(request.url),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
      ...request.logFields,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }

  // fastify's own lines below log the raw URL (or the whole request); each is the request's
  // one line already, or says what it says without the URL.

  override routeNotFound(): void {}

  override defaultErrorLog(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) reply.log.error({ statusCode: reply.statusCode, err: error }, error?.message);
    else reply.log.info({ statusCode: reply.statusCode, err: error }, error?.message);
  }

  override writeHeadError(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ statusCode: reply.statusCode, err: error }, error?.message);
  }
}

/** `url` without its query string (and fragment). */
function pathOf(url: string): string {
  const end = url.search(/[?#]/);
  return end < 0 ? url : url.slice(0, end);
}

const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Request ids: the caller's `x-request-id` if it is a plain token of at most 128 characters,
 * else a new UUID, unique across processes (fastify's default counts from 1 in each server,
 * so a gateway and a sidecar would log the same ids). Use as fastify's `genReqId` with
 * `requestIdHeader: false`; `echoRequestId` returns it in `x-request-id`.
 */
function requestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && SAFE_REQUEST_ID.test(h) ? h : randomUUID();
}

function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    void reply.header('x-request-id', req.id);
    done();
  });
}

/**
 * A fastify server as both of ours are: one log line per request, request ids unique across
 * processes and echoed in `x-request-id`, bodies up to `bodyLimit` bytes.
 */
export function createHttpApp(logger: Logger, bodyLimit: number): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new OneLinePerRequest(),
    bodyLimit,
    requestIdHeader: false,
    genReqId: requestId,
  });
  echoRequestId(app);
  return app;
}

/** Listens, and resolves with the port it got (`port` 0: a free one). */
export async function listen(app: FastifyInstance, port: number, host: string): Promise<number> {
  await app.listen({ port, host });
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}

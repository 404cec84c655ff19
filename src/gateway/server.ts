import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { SignatureError } from '../webhooks/errors.js';
import { verifyPayloadHash } from '../webhooks/signatures/payload-hash.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClientTokens } from '../services/client-token.js';
import type { DepositService } from '../services/deposits.service.js';
import type { StatusStream } from '../services/status-stream.js';
import type { TenantService } from '../services/tenants.service.js';
import { echoRequestId, OneLinePerRequest, requestId } from '../observability/request-log.js';
import { registerHealthRoutes, type Health } from '../observability/health.js';
import type { GraphQLContext, Principal } from './context.js';
import { checkLimits } from './limits.js';
import { isStorageUnavailable } from '../db/errors.js';
import { toGraphQLError } from '../resolvers/error-mapping.middleware.js';
import { registerSandboxCheckout, type SandboxPayments } from './sandbox-checkout.js';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  schema: GraphQLSchema;
  tenants: TenantService;
  deposits: DepositService;
  statusStream: StatusStream;
  clientTokens: ClientTokens;
  health: Health;
  sandbox: SandboxPayments;
}

export interface Gateway {
  app: FastifyInstance;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const BODY_LIMIT = 1024 * 1024;

/** Codes of errors raised before execution: under `application/json` they still answer 200 (GraphQL over HTTP). */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
]);

/**
 * The gateway: GraphQL over HTTP (Apollo on fastify) and graphql-ws on the same
 * port and path, the sandbox checkout page, health and metrics.
 */
export async function createGateway(d: GatewayDeps): Promise<Gateway> {
  const app = Fastify({
    loggerInstance: d.logger as FastifyBaseLogger,
    logController: new OneLinePerRequest(),
    bodyLimit: BODY_LIMIT,
    requestIdHeader: false,
    genReqId: requestId,
  });
  echoRequestId(app);
  // The raw bytes are kept: a tenant with an HMAC secret signs exactly them (x-payload-hash).
  app.addContentTypeParser(
    ['application/json', 'application/graphql-response+json'],
    { parseAs: 'buffer' },
    (req, body, done) => {
      const raw = body as Buffer;
      req.rawBody = raw;
      if (raw.length === 0) return done(null, undefined);
      try {
        done(null, JSON.parse(raw.toString('utf8')));
      } catch {
        const err = new Error('request body is not valid JSON') as Error & { statusCode: number };
        err.statusCode = 400;
        done(err, undefined);
      }
    },
  );

  const wss = new WebSocketServer({ noServer: true, maxPayload: BODY_LIMIT });
  const apollo = new ApolloServer<GraphQLContext>({
    schema: d.schema,
    introspection: !d.config.isProduction,
    includeStacktraceInErrorResponses: !d.config.isProduction,
    plugins: [fastifyApolloDrainPlugin(app), limitsPlugin(d.schema), drainSocketsPlugin(wss)],
    formatError: (formatted, error) => {
      const code = formatted.extensions?.code;
      if (code === 'INTERNAL_SERVER_ERROR') {
        d.logger.error({ err: error }, 'graphql internal error');
        if (d.config.isProduction) return { message: 'Internal server error', extensions: { code } };
      }
      return formatted;
    },
  });
  await apollo.start();

  const handler = fastifyApolloHandler(apollo, {
    context: async (request) => httpContext(d, request),
  });
  app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler, onSend: legacyJsonStatus });

  registerHealthRoutes(app, d.health, d.metrics);
  registerSandboxCheckout(app, d.sandbox, d.deposits, d.clientTokens, d.config);

  // The socket validates by itself (Apollo is not on this path): the same rules, and no introspection in production.
  const socketRules = d.config.isProduction ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const documents = new DocumentCache(d.schema, socketRules);
  const wsServer = useServer<Record<string, unknown>, { principal?: Principal }>(
    {
      schema: d.schema,
      connectionInitWaitTimeout: 5000,
      isProd: d.config.isProduction,
      onConnect: async (ctx) => {
        let principal: Principal | null;
        try {
          principal = await socketPrincipal(d, ctx.connectionParams);
        } catch (err) {
          if (!isStorageUnavailable(err)) throw err;
          // Credentials could not be checked: 1013 Try Again Later, which graphql-ws clients
          // retry (graphql-ws would close with 4500 and write a plain-text line to stderr).
          d.logger.warn({ err: (err as Error).message }, 'socket refused: storage unavailable');
          ctx.extra.socket.close(1013, 'storage temporarily unavailable');
          return false;
        }
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.principal = principal;
        return true;
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const checked = documents.get(payload.query);
        if ('errors' in checked) return checked.errors;
        const { document } = checked;
        const limited = checkLimits(d.schema, document, payload.variables ?? undefined);
        if (limited.length > 0) return limited;
        const contextValue: GraphQLContext = {
          deposits: d.deposits,
          statusStream: d.statusStream,
          principal: ctx.extra.principal ?? null,
        };
        return {
          schema: d.schema,
          document,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue,
        };
      },
    },
    wss,
    12_000,
  );
  app.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/graphql') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  return {
    app,
    async listen(port, host) {
      await app.listen({ port, host });
      const addr = app.server.address();
      return typeof addr === 'object' && addr ? addr.port : port;
    },
    async close() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      await wsServer.dispose();
      await app.close();
    },
  };
}

async function httpContext(d: GatewayDeps, request: FastifyRequest): Promise<GraphQLContext> {
  const idem = header(request, 'idempotency-key');
  const base = { deposits: d.deposits, statusStream: d.statusStream, idempotencyKey: idem };
  const apiKey = header(request, 'x-api-key');
  if (!apiKey) return { ...base, principal: null };
  // Postgres away while the key is looked up: 503 SERVICE_UNAVAILABLE, as for any resolver.
  const tenant = await d.tenants.authenticate(apiKey).catch((err: unknown) => {
    throw toGraphQLError(err);
  });
  if (!tenant) {
    throw new GraphQLError('invalid API key', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  }
  if (tenant.hmacSecret) {
    // The same scheme as instap's webhooks (contract): one implementation of it.
    try {
      verifyPayloadHash(tenant.hmacSecret, request.rawBody ?? Buffer.alloc(0), header(request, 'x-payload-hash'));
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      throw new GraphQLError(err.message, { extensions: { code: 'errorHmacDoesNotMatch', http: { status: 401 } } });
    }
  }
  return { ...base, principal: { kind: 'tenant', tenant } };
}

/** `{ apiKey }` (the whole tenant) or `{ clientToken }` (one deposit); anything else is refused. */
async function socketPrincipal(d: GatewayDeps, params: Record<string, unknown> | undefined): Promise<Principal | null> {
  if (typeof params?.apiKey === 'string') {
    const tenant = await d.tenants.authenticate(params.apiKey);
    return tenant ? { kind: 'tenant', tenant } : null;
  }
  if (typeof params?.clientToken === 'string') {
    const depositId = d.clientTokens.verify(params.clientToken);
    const deposit = depositId ? await d.deposits.getById(depositId) : null;
    return deposit ? { kind: 'client', depositId: deposit.id, tenantId: deposit.tenant.id } : null;
  }
  return null;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Depth, aliases and cost, refused before execution with QUERY_TOO_COMPLEX (the socket runs the same check). */
function limitsPlugin(schema: GraphQLSchema): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const errors = checkLimits(schema, document, request.variables);
          if (errors.length > 0) throw errors[0];
        },
      };
    },
  };
}

/**
 * GraphQL over HTTP: with `application/json`, a well-formed GraphQL response answers 200 even
 * when the request failed validation; 4xx belongs to `application/graphql-response+json`.
 * Decided on the way out: Apollo picks the content type from `Accept` only after every plugin
 * hook has run, so a plugin cannot see it.
 */
async function legacyJsonStatus(_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (reply.statusCode !== 400 || typeof payload !== 'string') return payload;
  if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
  let body: { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
  try {
    body = JSON.parse(payload) as typeof body;
  } catch {
    return payload;
  }
  const errors = body.errors ?? [];
  if (
    body.data === undefined &&
    errors.length > 0 &&
    errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))
  ) {
    reply.code(200);
  }
  return payload;
}

/** On shutdown, sockets are told 1001 (going away) once HTTP has drained. */
function drainSocketsPlugin(wss: WebSocketServer): ApolloServerPlugin<GraphQLContext> {
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          for (const client of wss.clients) client.close(1001, 'Going away');
        },
      };
    },
  };
}

/**
 * Parsed and validated subscription documents by query text. Thousands of UIs send the
 * same few queries: one shared document each instead of one per subscription (memory),
 * and no re-parsing. Bounded: when full it starts over.
 */
class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode } | { errors: readonly GraphQLError[] }>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: readonly ValidationRule[],
    private readonly max = 500,
  ) {}

  get(query: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
    let entry = this.entries.get(query);
    if (!entry) {
      entry = this.check(query);
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(query, entry);
    }
    return entry;
  }

  private check(query: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (err) {
      return { errors: [err as GraphQLError] };
    }
    const errors = validate(this.schema, document, this.rules);
    return errors.length > 0 ? { errors } : { document };
  }
}

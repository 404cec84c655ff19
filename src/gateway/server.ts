import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { DEV_API_KEY, type Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { SignatureError } from '../webhooks/errors.js';
import { verifyPayloadHash } from '../webhooks/signatures/payload-hash.js';
import { DEFAULT_TOLERANCE_SECONDS } from '../webhooks/signatures/standard-webhooks.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClientTokens } from '../services/client-token.js';
import type { DepositService } from '../services/deposits.service.js';
import type { StatusStream } from '../services/status-stream.js';
import type { TenantAuth, TenantService } from '../services/tenants.service.js';
import { echoRequestId, OneLinePerRequest, requestId } from '../observability/request-log.js';
import { registerHealthRoutes, type Health } from '../observability/health.js';
import type { GraphQLContext, Principal } from './context.js';
import { registerGraphiql, wantsHtml } from './graphiql.js';
import { checkLimits, LIMITS, parseQuery } from './limits.js';
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
  /** Absent where the sandbox does not exist (production): its routes are not registered, so 404. */
  sandbox?: SandboxPayments;
}

export interface Gateway {
  app: FastifyInstance;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    /** Who sent a GraphQL request, once its API key (and payload hash) checked out. */
    principal?: Principal;
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
    // Nothing here uses persisted queries: a hash is answered PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    // The limits have parsed every document already (see `graphQLLimits`); the same bound here.
    parseOptions: { maxTokens: LIMITS.maxTokens },
    // A GET (or a form POST) runs only with a header a browser cannot send cross-site without a
    // CORS preflight. `x-api-key`, required on every request, is such a header.
    csrfPrevention: { requestHeaders: ['x-api-key', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    plugins: [
      fastifyApolloDrainPlugin(app),
      drainSocketsPlugin(wss),
      // Apollo's landing page loads Apollo Sandbox from a CDN; the IDE here is GraphiQL, served offline.
      ApolloServerPluginLandingPageDisabled(),
    ],
    formatError: (formatted, error) => {
      const code = formatted.extensions?.code;
      if (code === 'INTERNAL_SERVER_ERROR') {
        d.logger.error({ err: error }, 'graphql internal error');
        if (d.config.isProduction) return { message: 'Internal server error', extensions: { code } };
      }
      // Under production an error names no field the caller did not write ("Did you mean ...?").
      if (d.config.isProduction) return { ...formatted, message: withoutSuggestions(formatted.message) };
      return formatted;
    },
  });
  await apollo.start();

  const documents = new DocumentCache();
  const apolloHandler = fastifyApolloHandler(apollo, {
    context: async (request) => httpContext(d, request),
  });
  const sendGraphiql = d.config.isProduction
    ? undefined
    : registerGraphiql(app, {
        schema: d.schema,
        logger: d.logger,
        // The well-known development key only (NODE_ENV=development without BOOTSTRAP_API_KEY).
        developmentApiKey:
          d.config.nodeEnv === 'development' && d.config.bootstrapApiKey === DEV_API_KEY ? DEV_API_KEY : undefined,
      });
  /** A browser opening /graphql outside production: the IDE, which asks for no credentials itself. */
  const isIde = (request: FastifyRequest) => sendGraphiql !== undefined && wantsHtml(request);
  /** CORS preflights and the IDE page are not GraphQL requests. */
  const isGraphQLRequest = (request: FastifyRequest) => request.method !== 'OPTIONS' && !isIde(request);
  app.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    // Before the body is read: a request with no API key costs nothing, whatever it carries.
    onRequest: async (request, reply) => {
      if (!isGraphQLRequest(request) || header(request, 'x-api-key')) return;
      return sendErrors(request, reply, unauthenticated('missing x-api-key header'));
    },
    // After the body is read (a payload hash signs its bytes), before Apollo parses and validates it.
    preHandler: async (request, reply) => {
      if (!isGraphQLRequest(request)) return;
      const refused = (await authenticate(d, request)) ?? graphQLLimits(d.schema, documents, request);
      if (refused) return sendErrors(request, reply, refused);
    },
    handler(request, reply) {
      return isIde(request) ? sendGraphiql!(reply) : apolloHandler.call(this, request, reply);
    },
    onSend: legacyJsonStatus,
  });

  registerHealthRoutes(app, d.health, d.metrics);
  if (d.sandbox) registerSandboxCheckout(app, d.sandbox, d.deposits, d.clientTokens, d.config);

  // The socket validates by itself (Apollo is not on this path): the same rules, and no introspection in production.
  const socketRules = d.config.isProduction ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const validateOnce = (document: DocumentNode) => {
    let errors = validated.get(document);
    if (!errors) {
      errors = validate(d.schema, document, socketRules, { hideSuggestions: d.config.isProduction });
      validated.set(document, errors);
    }
    return errors;
  };
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
          // graphql-ws would close with 4500 and write a plain-text stack to stderr: a JSON line instead.
          if (!isStorageUnavailable(err)) {
            d.logger.error({ err }, 'socket refused: credentials could not be checked');
            ctx.extra.socket.close(1011, 'Internal server error');
            return false;
          }
          // Credentials could not be checked: 1013 Try Again Later, which graphql-ws clients retry.
          d.logger.warn({ err: (err as Error).message }, 'socket refused: storage unavailable');
          ctx.extra.socket.close(1013, 'storage temporarily unavailable');
          return false;
        }
        if (!principal) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.principal = principal;
        return true;
      },
      // The limits first (the same as over HTTP, before any validation), then the socket's own rule
      // (subscriptions only), then graphql's validation.
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const parsed = documents.get(payload.query);
        if ('error' in parsed) return [parsed.error];
        const { document } = parsed;
        const limited = checkLimits(d.schema, document, payload.variables);
        if (limited.length > 0) return limited;
        const operation = getOperationAST(document, payload.operationName);
        if (operation && operation.operation !== 'subscription') {
          return [
            new GraphQLError(`the socket runs subscriptions only: send a ${operation.operation} over HTTP`, {
              extensions: { code: 'FORBIDDEN' },
            }),
          ];
        }
        const invalid = validateOnce(document);
        if (invalid.length > 0) return invalid;
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
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      // graphql-ws answers a socket error (a frame over maxPayload, a bad frame) with a plain-text
      // stack on stderr. ws has closed that socket already, with the fitting code (1009 for a
      // frame too large): what is left is to say so in one JSON line. A client's mistake: warn.
      ws.removeAllListeners('error');
      ws.on('error', (err: Error & { code?: string }) =>
        d.logger.warn({ err: { message: err.message, code: err.code } }, 'socket closed on a protocol error'),
      );
    });
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

function httpContext(d: GatewayDeps, request: FastifyRequest): GraphQLContext {
  return {
    deposits: d.deposits,
    statusStream: d.statusStream,
    idempotencyKey: header(request, 'idempotency-key'),
    principal: request.principal ?? null,
  };
}

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/**
 * The API key (and, for a tenant with an HMAC secret, the payload hash of the raw body):
 * the principal is set on the request, or the refusal is returned. Postgres away while the
 * key is looked up is 503 SERVICE_UNAVAILABLE, as for any resolver.
 */
async function authenticate(d: GatewayDeps, request: FastifyRequest): Promise<GraphQLError | undefined> {
  const apiKey = header(request, 'x-api-key');
  if (!apiKey) return unauthenticated('missing x-api-key header');
  let tenant: TenantAuth | null;
  try {
    tenant = await d.tenants.authenticate(apiKey);
  } catch (err) {
    const mapped = toGraphQLError(err);
    if (mapped instanceof GraphQLError) return mapped;
    throw err;
  }
  if (!tenant) return unauthenticated('invalid API key');
  if (tenant.hmacSecret) {
    // The same scheme as instap's webhooks (contract): one implementation of it.
    try {
      verifyPayloadHash(tenant.hmacSecret, request.rawBody ?? Buffer.alloc(0), header(request, 'x-payload-hash'));
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      return new GraphQLError(err.message, { extensions: { code: 'errorHmacDoesNotMatch', http: { status: 401 } } });
    }
  }
  request.principal = { kind: 'tenant', tenant };
  return undefined;
}

/**
 * The limits, before Apollo validates the document: graphql's validation costs up to the
 * square of a document's size, the limits only its size. A request whose query cannot be
 * found as Apollo would find it is left to Apollo, which refuses it; a syntax error too.
 */
function graphQLLimits(
  schema: GraphQLSchema,
  documents: DocumentCache,
  request: FastifyRequest,
): GraphQLError | undefined {
  const sent = graphQLParams(request);
  if (!sent) return undefined;
  const parsed = documents.get(sent.query);
  if ('error' in parsed) return parsed.error.extensions.code === 'QUERY_TOO_COMPLEX' ? parsed.error : undefined;
  return checkLimits(schema, parsed.document, sent.variables)[0];
}

/** `query` and `variables` where Apollo reads them: the JSON body of a POST, the URL of a GET. */
function graphQLParams(request: FastifyRequest): { query: string; variables?: Record<string, unknown> } | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (request.method === 'POST') {
    const body = request.body;
    if (!isObject(body) || typeof body.query !== 'string') return undefined;
    return { query: body.query, variables: isObject(body.variables) ? body.variables : undefined };
  }
  const mark = request.url.indexOf('?');
  const search = new URLSearchParams(mark < 0 ? '' : request.url.slice(mark + 1));
  const queries = search.getAll('query');
  if (queries.length !== 1) return undefined;
  let variables: unknown;
  try {
    variables = JSON.parse(search.get('variables') ?? 'null');
  } catch {
    return undefined; // Apollo refuses it with 400
  }
  return { query: queries[0], variables: isObject(variables) ? variables : undefined };
}

/**
 * A GraphQL error answered by the gateway itself (before Apollo): the media type the client
 * asked for, the status the error carries. `legacyJsonStatus` then applies as for Apollo's answers.
 */
function sendErrors(request: FastifyRequest, reply: FastifyReply, error: GraphQLError): FastifyReply {
  const { http, ...extensions } = error.extensions as { http?: { status?: number } } & Record<string, unknown>;
  const accept = header(request, 'accept') ?? '';
  const modern = accept.indexOf('application/graphql-response+json');
  const legacy = accept.indexOf('application/json');
  const type =
    modern >= 0 && (legacy < 0 || modern < legacy)
      ? 'application/graphql-response+json; charset=utf-8'
      : 'application/json; charset=utf-8';
  return reply
    .code(http?.status ?? 400)
    .type(type)
    .send(JSON.stringify({ errors: [{ message: error.message, extensions }] }));
}

/** An error message without graphql's "Did you mean ...?" (names the caller did not write). */
function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/**
 * `{ apiKey }` (the whole tenant) or `{ clientToken }` (one deposit); anything else is refused.
 * A tenant with an HMAC secret also signs the connection: `timestamp` (unix seconds, within
 * 5 minutes of now) and `payloadHash`, the instap scheme over `{timestamp}.{apiKey}`.
 */
async function socketPrincipal(d: GatewayDeps, params: Record<string, unknown> | undefined): Promise<Principal | null> {
  if (typeof params?.apiKey === 'string') {
    const tenant = await d.tenants.authenticate(params.apiKey);
    if (!tenant) return null;
    if (tenant.hmacSecret && !signedConnection(tenant.hmacSecret, params.apiKey, params)) return null;
    return { kind: 'tenant', tenant };
  }
  if (typeof params?.clientToken === 'string') {
    const depositId = d.clientTokens.verify(params.clientToken);
    const deposit = depositId ? await d.deposits.getById(depositId) : null;
    return deposit ? { kind: 'client', depositId: deposit.id, tenantId: deposit.tenant.id } : null;
  }
  return null;
}

function signedConnection(secret: string, apiKey: string, params: Record<string, unknown>): boolean {
  const { timestamp, payloadHash } = params;
  const text = typeof timestamp === 'number' || typeof timestamp === 'string' ? String(timestamp) : '';
  if (!/^\d{1,12}$/.test(text)) return false;
  if (Math.abs(Date.now() / 1000 - Number(text)) > DEFAULT_TOLERANCE_SECONDS) return false;
  try {
    verifyPayloadHash(secret, `${text}.${apiKey}`, typeof payloadHash === 'string' ? payloadHash : undefined);
    return true;
  } catch (err) {
    if (err instanceof SignatureError) return false;
    throw err;
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
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
 * Parsed documents by query text, for the limits (both transports) and the socket's validation.
 * Thousands of UIs send the same few queries: one shared document each instead of one per
 * subscription (memory), and no re-parsing. Bounded: when full it starts over.
 */
class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode } | { error: GraphQLError }>();

  constructor(private readonly max = 500) {}

  get(query: string): { document: DocumentNode } | { error: GraphQLError } {
    let entry = this.entries.get(query);
    if (!entry) {
      try {
        entry = { document: parseQuery(query) };
      } catch (err) {
        if (!(err instanceof GraphQLError)) throw err;
        entry = { error: err };
      }
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(query, entry);
    }
    return entry;
  }
}

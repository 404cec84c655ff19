import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { DEV_API_KEY, type Config } from '../config.js';
import { registerHealthRoutes, type Health } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { createHttpApp, listen } from '../observability/request-log.js';
import type { GraphQLContext } from '../resolvers/context.js';
import type { ApiKeyService } from '../services/api-keys.service.js';
import type { ClientTokens } from '../services/client-token.js';
import type { DepositService } from '../services/deposits.service.js';
import type { LedgerService } from '../services/ledger.service.js';
import type { ResolutionService } from '../services/resolutions.service.js';
import type { StatusStream } from '../services/status-stream.js';
import type { SyncService } from '../services/sync.service.js';
import type { WebhookEndpointService } from '../services/webhook-endpoints.service.js';
import type { TenantService } from '../services/tenants.service.js';
import { authenticate, header, unauthenticated } from './auth.js';
import { registerConsole } from './console.js';
import { registerGraphiql, wantsHtml } from './graphiql.js';
import { DocumentCache, graphQLLimits, legacyJsonStatus, sendErrors, withoutSuggestions } from './graphql-http.js';
import { LIMITS } from './limits.js';
import { registerSandboxCheckout, type SandboxPayments } from './sandbox-checkout.js';
import { attachSocket } from './socket.js';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  schema: GraphQLSchema;
  tenants: TenantService;
  deposits: DepositService;
  statusStream: StatusStream;
  resolutions?: ResolutionService;
  ledger?: LedgerService;
  sync?: SyncService;
  webhookEndpoints?: WebhookEndpointService;
  apiKeys?: ApiKeyService;
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

const BODY_LIMIT = 1024 * 1024;

/**
 * The gateway: GraphQL over HTTP (Apollo on fastify) and graphql-ws on the same
 * port and path (`socket.ts`), the sandbox checkout page, health and metrics.
 */
export async function createGateway(d: GatewayDeps): Promise<Gateway> {
  const app = createHttpApp(d.logger, BODY_LIMIT);
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
  registerConsole(app, d.logger);
  if (d.sandbox) registerSandboxCheckout(app, d.sandbox, d.deposits, d.clientTokens, d.config);

  const socket = attachSocket(app, wss, { ...d, documents, isProduction: d.config.isProduction });

  return {
    app,
    listen: (port, host) => listen(app, port, host),
    async close() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      await socket.dispose();
      await app.close();
    },
  };
}

function httpContext(d: GatewayDeps, request: FastifyRequest): GraphQLContext {
  return {
    deposits: d.deposits,
    statusStream: d.statusStream,
    resolutions: d.resolutions,
    ledger: d.ledger,
    sync: d.sync,
    webhookEndpoints: d.webhookEndpoints,
    apiKeys: d.apiKeys,
    idempotencyKey: header(request, 'idempotency-key'),
    principal: request.principal ?? null,
  };
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

import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
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
import type { WebSocketServer } from 'ws';
import { isStorageUnavailable } from '../db/errors.js';
import type { Logger } from '../observability/logger.js';
import type { GraphQLContext, Principal } from '../resolvers/context.js';
import type { ApiKeyService } from '../services/api-keys.service.js';
import type { StatusStream } from '../services/status-stream.js';
import { socketPrincipal, type Authenticators } from './auth.js';
import type { DocumentCache } from './graphql-http.js';
import { SocketKeyWatch } from './key-watch.js';
import { socketTransport } from './socket-transport.js';
import { checkLimits } from './limits.js';
import { stampWritten, tracedSubscribe } from './status-trace.js';
import { statusTraceEnabled } from '../lib/trace.js';
import type { SyncService } from '../services/sync.service.js';

export interface SocketDeps extends Authenticators {
  schema: GraphQLSchema;
  logger: Logger;
  statusStream: StatusStream;
  /** `Deposit.syncable` in what a subscription returns. */
  sync?: SyncService;
  documents: DocumentCache;
  isProduction: boolean;
  /** Revocations made on this gateway close that key's sockets at once. */
  apiKeys?: ApiKeyService;
}

/**
 * graphql-ws on the gateway's port and path (`/graphql`), subscriptions only. The socket
 * validates by itself (Apollo is not on this path): the same limits as over HTTP, the same
 * rules, and no introspection in production.
 * @returns what disposes of it when the gateway closes.
 */
export function attachSocket(app: FastifyInstance, wss: WebSocketServer, d: SocketDeps): { dispose(): Promise<void> } {
  const socketRules = d.isProduction ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const validated = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  const validateOnce = (document: DocumentNode) => {
    let errors = validated.get(document);
    if (!errors) {
      errors = validate(d.schema, document, socketRules, { hideSuggestions: d.isProduction });
      validated.set(document, errors);
    }
    return errors;
  };
  const keyWatch = new SocketKeyWatch(d.tenants, d.logger);
  d.apiKeys?.onRevoked((keyId) => keyWatch.revoked(keyId));
  const transport = socketTransport<Record<string, unknown>, { principal?: Principal }>(
    {
      schema: d.schema,
      connectionInitWaitTimeout: 5000,
      // STATUS_TRACE=1 only: each `next` carries its change's trace in `extensions` (gateway/status-trace.ts).
      ...(statusTraceEnabled() ? { subscribe: tracedSubscribe, onNext: stampWritten } : {}),
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
        // Closed with 4403 when this key is revoked (here: at once; elsewhere: within seconds).
        if (principal.kind === 'tenant') keyWatch.add(ctx.extra.socket, principal.keyId);
        return true;
      },
      // The limits first (the same as over HTTP, before any validation), then the socket's own rule
      // (subscriptions only), then graphql's validation.
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        const parsed = d.documents.get(payload.query);
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
          sync: d.sync,
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
    {
      logger: d.logger,
      isProduction: d.isProduction,
      keepAliveMs: 12_000,
      onClose: (socket) => keyWatch.remove(socket),
    },
  );
  // graphql-ws answers a socket error (a frame over maxPayload, a bad frame) with a plain-text
  // stack on stderr. ws has closed that socket already, with the fitting code (1009 for a
  // frame too large): what is left is to say so in one JSON line. A client's mistake: warn.
  // One listener for every socket: it holds nothing of the upgrade.
  const onSocketError = (err: Error & { code?: string }) =>
    d.logger.warn({ err: { message: err.message, code: err.code } }, 'socket closed on a protocol error');
  app.server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/graphql') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', onSocketError);
      transport.serve(ws);
    });
  });
  return {
    dispose: async () => {
      await keyWatch.stop();
      await transport.dispose();
    },
  };
}

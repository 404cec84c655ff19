import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';
import { ApiKeyResolver } from '../resolvers/api-key.resolver.js';
import { authChecker } from '../resolvers/authorization.js';
import { BalanceResolver } from '../resolvers/balance.resolver.js';
import { DepositResolver } from '../resolvers/deposit.resolver.js';
import { mapErrors } from '../resolvers/error-mapping.middleware.js';
import { LedgerResolver } from '../resolvers/ledger.resolver.js';
import { ResolutionResolver } from '../resolvers/resolution.resolver.js';
import { StatusChangesResolver } from '../resolvers/status-changes.resolver.js';
import { StatusResolver } from '../resolvers/status.resolver.js';
import { SyncResolver } from '../resolvers/sync.resolver.js';
import { WebhookEndpointResolver } from '../resolvers/webhook-endpoint.resolver.js';
import { DateTimeScalar } from '../schema/scalars.js';

/**
 * type-graphql insists on a PubSub even when every subscription brings its own `subscribe`
 * (ours reads Postgres and Redis through StatusStream); this one refuses to be used.
 */
const unusedPubSub: PubSub = {
  publish() {
    throw new Error('publish through the outbox, not the GraphQL PubSub');
  },
  subscribe() {
    throw new Error('subscriptions bring their own subscribe()');
  },
};

/** The one executable schema, served over HTTP and graphql-ws alike. */
export function buildGatewaySchema(emitSchemaFile?: string): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      DepositResolver,
      BalanceResolver,
      StatusResolver,
      SyncResolver,
      StatusChangesResolver,
      WebhookEndpointResolver,
      ApiKeyResolver,
      ResolutionResolver,
      LedgerResolver,
    ],
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    globalMiddlewares: [mapErrors],
    // Roles: `@OperatorOnly()` fields refuse other keys with FORBIDDEN (resolvers/authorization.ts).
    authChecker,
    authMode: 'error',
    validate: false,
    pubSub: unusedPubSub,
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: false } : false,
  });
}

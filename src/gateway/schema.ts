import 'reflect-metadata';
import { isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';
import { ApiKeyResolver } from '../resolvers/api-key.resolver.js';
import { authChecker } from '../resolvers/authorization.js';
import { BalanceResolver } from '../resolvers/balance.resolver.js';
import { DepositResolver } from '../resolvers/deposit.resolver.js';
import { toGraphQLError } from '../resolvers/error-mapping.middleware.js';
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
export async function buildGatewaySchema(emitSchemaFile?: string): Promise<GraphQLSchema> {
  const schema = await buildSchema({
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
    // Roles: `@OperatorOnly()` fields refuse other keys with FORBIDDEN (resolvers/authorization.ts).
    authChecker,
    authMode: 'error',
    validate: false,
    pubSub: unusedPubSub,
    emitSchemaFile: emitSchemaFile ? { path: emitSchemaFile, sortedSchema: false } : false,
  });
  mapResolverErrors(schema);
  return schema;
}

/**
 * Every resolver's errors go through `toGraphQLError` (service errors get their `code`, a
 * database away is SERVICE_UNAVAILABLE), on HTTP and graphql-ws alike. Not a type-graphql
 * global middleware: that wraps every field of every answer, plain properties included, in
 * an async middleware chain (a few promises and closures per field: createDeposit's answer
 * has six fields). Here each field that has a resolver gets a synchronous try/catch, and a
 * promise it returns a `catch`. A `subscribe` is not wrapped (its resolver maps its own errors).
 */
function mapResolverErrors(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.resolve) field.resolve = mappingErrors(field.resolve);
    }
  }
}

const rethrowMapped = (err: unknown): never => {
  throw toGraphQLError(err);
};

function mappingErrors(resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  return (source, args, context, info) => {
    let out: unknown;
    try {
      out = resolve(source, args, context, info);
    } catch (err) {
      rethrowMapped(err);
    }
    return out instanceof Promise ? out.catch(rethrowMapped) : out;
  };
}

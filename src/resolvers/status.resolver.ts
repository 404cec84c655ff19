import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import type { GraphQLContext } from './context.js';
import { DepositStatusChange, type DepositType } from '../schema/deposit.type.js';
import { ForbiddenError, UnauthenticatedError } from '../lib/errors.js';
import { encodeStatusCursor } from '../services/status-cursor.js';
import type { StatusMessage } from '../store/outbox.store.js';
import type { StatusFilter } from '../services/status-stream.js';
import { toGraphQLError } from './error-mapping.middleware.js';

interface StatusArgs {
  depositId?: string | null;
  userId?: string | null;
  after?: string | null;
}

/**
 * What the credentials allow: an API key sees its whole tenant (narrowed by the
 * arguments); a client token sees its one deposit and nothing else.
 */
async function subscribe(data: SubscribeResolverData<unknown, StatusArgs, GraphQLContext>) {
  // The schema's error mapping (gateway/schema.ts) wraps resolvers, not a `subscribe` function: map the typed errors here,
  // or FORBIDDEN and BAD_USER_INPUT would reach the client without their code.
  try {
    return await openStream(data);
  } catch (err) {
    throw toGraphQLError(err);
  }
}

async function openStream({
  args,
  context,
}: SubscribeResolverData<unknown, StatusArgs, GraphQLContext>): Promise<AsyncIterable<StatusMessage>> {
  const a = args;
  const p = context.principal;
  if (!p) throw UnauthenticatedError.missingKey();
  if (!context.statusStream) throw new Error('subscriptions are served over graphql-ws');
  let filter: StatusFilter;
  if (p.kind === 'client') {
    if (a.userId != null || (a.depositId != null && a.depositId !== p.depositId)) {
      throw new ForbiddenError('this client token may only watch its own deposit');
    }
    filter = { tenantId: p.tenantId, depositId: p.depositId };
  } else {
    const tenantId = p.tenant.tenantId;
    if (a.depositId != null && !(await context.deposits.get(tenantId, a.depositId))) {
      throw new ForbiddenError('no such deposit for this API key');
    }
    filter = { tenantId, depositId: a.depositId ?? undefined, userId: a.userId ?? undefined };
  }
  return context.statusStream.subscribe(filter, a.after);
}

@Resolver()
export class StatusResolver {
  @Subscription(() => DepositStatusChange, {
    subscribe,
    description: 'Every status change, in order; pass a cursor as `after` to resume with no gap and no duplicate',
  })
  depositStatusChanged(
    @Root() m: StatusMessage,
    @Arg('depositId', () => ID, { nullable: true }) _depositId?: string | null,
    @Arg('userId', () => String, { nullable: true }) _userId?: string | null,
    @Arg('after', () => String, { nullable: true }) _after?: string | null,
  ): DepositStatusChange {
    return {
      cursor: encodeStatusCursor(m.seq),
      deposit: m.deposit as unknown as DepositType,
      status: m.status,
      previousStatus: m.previousStatus,
      occurredAt: new Date(m.occurredAt),
    };
  }
}

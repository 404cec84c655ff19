import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { DepositStatusChangeConnection, type DepositType } from '../schema/deposit.type.js';
import { encodeStatusCursor } from '../services/status-cursor.js';
import { requireTenant, type GraphQLContext } from './context.js';

/** The events feed: what `depositStatusChanged` streams, as pages over HTTP, with the same cursors. */
@Resolver()
export class StatusChangesResolver {
  @Query(() => DepositStatusChangeConnection, {
    description:
      "The tenant's status changes after `after`, oldest first, in the cursor order of depositStatusChanged (a cursor from either resumes the other); first 1..100",
  })
  async statusChanges(
    @Ctx() ctx: GraphQLContext,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number | null = 100,
    @Arg('depositId', () => ID, { nullable: true }) depositId?: string | null,
    @Arg('userId', () => String, { nullable: true }) userId?: string | null,
  ): Promise<DepositStatusChangeConnection> {
    const { tenantId } = requireTenant(ctx);
    if (!ctx.statusStream) throw new Error('statusChanges is served by the gateway');
    const filter = { tenantId, depositId: depositId ?? undefined, userId: userId ?? undefined };
    const page = await ctx.statusStream.page(filter, after, first ?? 100);
    const edges = page.messages.map((m) => {
      const cursor = encodeStatusCursor(m.seq);
      return {
        cursor,
        node: {
          cursor,
          deposit: m.deposit as unknown as DepositType,
          status: m.status,
          previousStatus: m.previousStatus,
          occurredAt: new Date(m.occurredAt),
        },
      };
    });
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? after ?? null } };
  }
}

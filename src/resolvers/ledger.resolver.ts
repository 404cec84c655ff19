import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';
import { encodeLedgerCursor } from '../services/ledger.service.js';
import { LedgerEntryConnection } from '../schema/ledger.type.js';
import { requireTenant, type GraphQLContext } from './context.js';

@Resolver()
export class LedgerResolver {
  @Query(() => LedgerEntryConnection, { description: "A user's ledger entries, newest first; first 1..100" })
  async ledgerEntries(
    @Arg('userId', () => String) userId: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('currency', () => String, { nullable: true }) currency?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<LedgerEntryConnection> {
    const tenant = requireTenant(ctx);
    if (!ctx.ledger) throw new Error('the ledger is not wired into this context');
    const page = await ctx.ledger.entries(tenant.tenantId, { userId, currency, first: first ?? 20, after });
    const edges = page.nodes.map((node) => ({ cursor: encodeLedgerCursor(node.seq), node }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}

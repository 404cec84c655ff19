import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import type { DepositRecord } from '../store/deposits.store.js';
import { DepositType } from '../schema/deposit.type.js';
import { requireTenant, type GraphQLContext } from './context.js';

/** Status sync: `syncDeposit` (any tenant key) and `Deposit.syncable`. */
@Resolver(() => DepositType)
export class SyncResolver {
  @Mutation(() => DepositType, {
    description:
      "Asks the deposit's provider where the payment stands now and applies the answer like a webhook; returns the deposit after",
  })
  syncDeposit(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<DepositRecord> {
    const tenant = requireTenant(ctx);
    if (!ctx.sync) throw new Error('status sync is not wired in this process');
    return ctx.sync.syncDeposit(tenant.tenantId, id);
  }

  @FieldResolver(() => Boolean, {
    description: 'Whether the deposit\'s provider has a status API configured here (offer "Sync")',
  })
  syncable(@Root() deposit: DepositRecord, @Ctx() ctx: GraphQLContext): boolean {
    return ctx.sync?.syncable(deposit.provider) ?? false;
  }
}

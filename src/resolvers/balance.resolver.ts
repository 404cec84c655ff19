import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import type { WalletBalance } from '../entities/index.js';
import type { BalanceView } from '../services/ledger.service.js';
import { requireTenant, type GraphQLContext } from './context.js';
import { BalanceType, WalletBalanceType } from '../schema/deposit.type.js';
import { VerificationStatus } from '../schema/enums.js';

@Resolver()
export class BalanceResolver {
  @Query(() => [BalanceType], { description: 'Every currency with a non-zero available or pending amount' })
  balances(@Arg('userId', () => String) userId: string, @Ctx() ctx: GraphQLContext): Promise<BalanceView[]> {
    const tenant = requireTenant(ctx);
    if (!ctx.ledger) throw new Error('the ledger is not wired into this context');
    return ctx.ledger.balances(tenant.tenantId, userId);
  }

  @Query(() => [WalletBalanceType], { description: "The provider's own wallet reports (layer1 balance:updated)" })
  walletBalances(
    @Arg('provider', () => String) provider: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<WalletBalance[]> {
    requireTenant(ctx);
    return ctx.deposits.walletBalances(provider);
  }

  @Query(() => VerificationStatus, { description: "The user's latest identity verification (depasify)" })
  userVerification(
    @Arg('userId', () => String) userId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<VerificationStatus> {
    requireTenant(ctx);
    return ctx.deposits.verification(userId);
  }
}

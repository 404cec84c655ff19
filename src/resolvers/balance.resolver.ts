import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import type { Balance, WalletBalance } from '../entities/index.js';
import { requireTenant, type GraphQLContext } from './context.js';
import { BalanceType, WalletBalanceType } from '../schema/deposit.type.js';
import { VerificationStatus } from '../schema/enums.js';

@Resolver()
export class BalanceResolver {
  @Query(() => [BalanceType])
  balances(@Arg('userId', () => String) userId: string, @Ctx() ctx: GraphQLContext): Promise<Balance[]> {
    return ctx.deposits.balances(requireTenant(ctx).tenantId, userId);
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

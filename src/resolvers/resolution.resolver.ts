import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { availableActions, type ResolvableDeposit } from '../domain/resolution-rules.js';
import type { DepositRecord } from '../store/deposits.store.js';
import { DepositType } from '../schema/deposit.type.js';
import { ResolutionAction } from '../schema/resolution.type.js';
import { isOperator, OperatorOnly, requireOperator } from './authorization.js';
import type { GraphQLContext } from './context.js';

@Resolver(() => DepositType)
export class ResolutionResolver {
  @Mutation(() => DepositType, {
    description:
      'Operator: settles exception money once (CREDIT, MARK_REFUNDED, REVERSE); reason 1..500 characters, reference up to 200',
  })
  @OperatorOnly()
  resolveDeposit(
    @Arg('id', () => ID) id: string,
    @Arg('action', () => ResolutionAction) action: ResolutionAction,
    @Arg('reason', () => String) reason: string,
    @Arg('reference', () => String, { nullable: true }) reference: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DepositRecord> {
    const operator = requireOperator(ctx);
    if (!ctx.resolutions) throw new Error('resolutions are not wired into this context');
    return ctx.resolutions.resolve(operator.tenant.tenantId, id, { action, reason, reference, actor: operator.label });
  }

  @FieldResolver(() => [ResolutionAction], {
    description: 'What an operator may do now (resolveDeposit); empty for other callers',
  })
  availableActions(@Root() deposit: ResolvableDeposit, @Ctx() ctx: GraphQLContext): ResolutionAction[] {
    return isOperator(ctx) ? availableActions(deposit) : [];
  }
}

import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { DepositEvent } from '../entities/index.js';
import type { DepositRecord } from '../store/deposits.store.js';
import { requireTenant, type GraphQLContext } from './context.js';
import { encodeCursor } from '../services/deposits.service.js';
import { CreateDepositInputType } from '../schema/create-deposit.input.js';
import { CreateDepositPayload, DepositConnection, DepositEventType, DepositType } from '../schema/deposit.type.js';
import { DepositStatus } from '../schema/enums.js';

@Resolver(() => DepositType)
export class DepositResolver {
  @Query(() => DepositType, { nullable: true })
  deposit(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<DepositRecord | null> {
    return ctx.deposits.get(requireTenant(ctx).tenantId, id);
  }

  @Query(() => DepositConnection, { description: 'Newest first; first <= 100' })
  async deposits(
    @Ctx() ctx: GraphQLContext,
    @Arg('userId', () => String, { nullable: true }) userId?: string | null,
    @Arg('status', () => DepositStatus, { nullable: true }) status?: DepositStatus | null,
    @Arg('needsAttention', () => Boolean, { nullable: true }) needsAttention?: boolean | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<DepositConnection> {
    const page = await ctx.deposits.list(requireTenant(ctx).tenantId, {
      userId,
      status,
      needsAttention,
      first: first ?? 20,
      after,
    });
    const edges = page.nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Mutation(() => CreateDepositPayload, { description: 'Honours the Idempotency-Key header' })
  createDeposit(
    @Arg('input', () => CreateDepositInputType) input: CreateDepositInputType,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreateDepositPayload> {
    return ctx.deposits.create(requireTenant(ctx).tenantId, input, ctx.idempotencyKey);
  }

  @FieldResolver(() => [DepositEventType], { description: 'Every provider event for it, oldest first' })
  events(@Root() deposit: DepositRecord, @Ctx() ctx: GraphQLContext): Promise<DepositEvent[]> {
    return ctx.deposits.events(deposit.id);
  }
}

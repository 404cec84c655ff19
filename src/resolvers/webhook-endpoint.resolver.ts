import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { DateTimeScalar } from '../schema/scalars.js';
import {
  DeliveryStatus,
  WebhookDeliveryConnection,
  WebhookDeliveryType,
  WebhookEndpointSecretType,
  WebhookEndpointType,
} from '../schema/webhook.type.js';
import type { WebhookEndpointService } from '../services/webhook-endpoints.service.js';
import type { WebhookDeliveryRecord } from '../store/webhook-deliveries.store.js';
import type { WebhookEndpointRecord } from '../store/webhook-endpoints.store.js';
import { OperatorOnly } from './authorization.js';
import { requireTenant, type GraphQLContext } from './context.js';

function service(ctx: GraphQLContext): WebhookEndpointService {
  if (!ctx.webhookEndpoints) throw new Error('webhook endpoints are served by the gateway');
  return ctx.webhookEndpoints;
}

const asDelivery = (d: WebhookDeliveryRecord) => d as WebhookDeliveryType;

/** Merchant webhook endpoints and their delivery log: operators only (`OperatorOnly`). */
@Resolver()
export class WebhookEndpointResolver {
  @OperatorOnly()
  @Query(() => [WebhookEndpointType], { description: "The tenant's merchant webhook endpoints (operator)" })
  webhookEndpoints(@Ctx() ctx: GraphQLContext): Promise<WebhookEndpointRecord[]> {
    return service(ctx).list(requireTenant(ctx).tenantId);
  }

  @OperatorOnly()
  @Query(() => WebhookDeliveryConnection, {
    description: "An endpoint's deliveries, newest first; first 1..100 (operator)",
  })
  async webhookDeliveries(
    @Ctx() ctx: GraphQLContext,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('status', () => DeliveryStatus, { nullable: true }) status?: DeliveryStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null = 20,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<WebhookDeliveryConnection> {
    const page = await service(ctx).deliveries(requireTenant(ctx).tenantId, {
      endpointId,
      status,
      first: first ?? 20,
      after,
    });
    const edges = page.edges.map((e) => ({ cursor: e.cursor, node: asDelivery(e.node) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @OperatorOnly()
  @Mutation(() => WebhookEndpointSecretType, { description: 'The secret is shown once (operator)' })
  createWebhookEndpoint(
    @Ctx() ctx: GraphQLContext,
    @Arg('url', () => String) url: string,
    @Arg('description', () => String, { nullable: true }) description?: string | null,
  ) {
    return service(ctx).create(requireTenant(ctx).tenantId, { url, description });
  }

  @OperatorOnly()
  @Mutation(() => WebhookEndpointType, { description: 'Enabling an endpoint clears its disabledReason (operator)' })
  updateWebhookEndpoint(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('url', () => String, { nullable: true }) url?: string | null,
    @Arg('description', () => String, { nullable: true }) description?: string | null,
    @Arg('enabled', () => Boolean, { nullable: true }) enabled?: boolean | null,
  ): Promise<WebhookEndpointRecord> {
    return service(ctx).update(requireTenant(ctx).tenantId, id, { url, description, enabled });
  }

  @OperatorOnly()
  @Mutation(() => Boolean, { description: 'Deletes the endpoint; its pending deliveries are dropped (operator)' })
  deleteWebhookEndpoint(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<boolean> {
    return service(ctx).delete(requireTenant(ctx).tenantId, id);
  }

  @OperatorOnly()
  @Mutation(() => WebhookEndpointSecretType, {
    description: 'A new secret, shown once; the old one also signs for 24 hours (operator)',
  })
  rotateWebhookEndpointSecret(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string) {
    return service(ctx).rotateSecret(requireTenant(ctx).tenantId, id);
  }

  @OperatorOnly()
  @Mutation(() => WebhookDeliveryType, { description: 'Sent again now, with the same eventId (operator)' })
  async redeliverWebhook(
    @Ctx() ctx: GraphQLContext,
    @Arg('deliveryId', () => ID) deliveryId: string,
  ): Promise<WebhookDeliveryType> {
    return asDelivery(await service(ctx).redeliver(requireTenant(ctx).tenantId, deliveryId));
  }

  @OperatorOnly()
  @Mutation(() => Int, { description: 'Queues again every FAILED delivery created since `since`; how many (operator)' })
  redeliverFailedWebhooks(
    @Ctx() ctx: GraphQLContext,
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('since', () => DateTimeScalar) since: Date,
  ): Promise<number> {
    return service(ctx).redeliverFailed(requireTenant(ctx).tenantId, endpointId, since);
  }
}

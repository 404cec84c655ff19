import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { ApiKeyRecord, ApiKeyService } from '../services/api-keys.service.js';
import { ApiKeyType, CreateApiKeyPayload } from '../schema/api-key.type.js';
import { ApiKeyRole } from '../schema/enums.js';
import { OperatorOnly, requireOperator } from './authorization.js';
import type { GraphQLContext } from './context.js';

function service(ctx: GraphQLContext): ApiKeyService {
  if (!ctx.apiKeys) throw new Error('API key management is served over HTTP');
  return ctx.apiKeys;
}

/** The tenant's API keys, for its operators (contract: "API keys and roles"). */
@Resolver()
export class ApiKeyResolver {
  @OperatorOnly()
  @Query(() => [ApiKeyType], { description: "Operator: the tenant's API keys, revoked ones included, oldest first" })
  apiKeys(@Ctx() ctx: GraphQLContext): Promise<ApiKeyRecord[]> {
    return service(ctx).list(requireOperator(ctx).tenant.tenantId);
  }

  @OperatorOnly()
  @Mutation(() => CreateApiKeyPayload, {
    description: 'Operator: a new key with this role and label (1-100 characters); the key is shown this once',
  })
  createApiKey(
    @Arg('role', () => ApiKeyRole) role: ApiKeyRole,
    @Arg('label', () => String) label: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CreateApiKeyPayload> {
    return service(ctx).create(requireOperator(ctx).tenant.tenantId, role, label);
  }

  @OperatorOnly()
  @Mutation(() => ApiKeyType, {
    description:
      "Operator: refuses the key from now on (every gateway within 10 seconds); the tenant's last operator key cannot be revoked",
  })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKeyRecord> {
    return service(ctx).revoke(requireOperator(ctx).tenant.tenantId, id);
  }
}

import type { ApiKeyRole } from '../domain/api-key-role.js';
import type { ApiKeyService } from '../services/api-keys.service.js';
import type { DepositService } from '../services/deposits.service.js';
import type { LedgerService } from '../services/ledger.service.js';
import type { ResolutionService } from '../services/resolutions.service.js';
import { ForbiddenError, UnauthenticatedError } from '../lib/errors.js';
import type { TenantAuth } from '../services/tenants.service.js';
import type { StatusStream } from '../services/status-stream.js';
import type { SyncService } from '../services/sync.service.js';
import type { WebhookEndpointService } from '../services/webhook-endpoints.service.js';

/**
 * Who is asking: a tenant (API key: which key, its role and label), or a browser holding one
 * deposit's client token (graphql-ws only). What a role may do is decided in `authorization.ts`.
 */
export type Principal = TenantPrincipal | { kind: 'client'; depositId: string; tenantId: string };

export interface TenantPrincipal {
  kind: 'tenant';
  tenant: TenantAuth;
  /** The `api_key` row's id (`ApiKey.id`). */
  keyId: string;
  role: ApiKeyRole;
  /** The key's label: the `actor` of what an operator does. */
  label: string;
}

/** What resolvers may use. They translate arguments to one service call; the rules live in the services. */
export interface GraphQLContext {
  deposits: DepositService;
  statusStream?: StatusStream;
  /** Status sync with the providers (`syncDeposit`, `Deposit.syncable`). */
  sync?: SyncService;
  /** Merchant webhook endpoints and their delivery log (operators). */
  webhookEndpoints?: WebhookEndpointService;
  /** The tenant's API keys (operators; HTTP only). */
  apiKeys?: ApiKeyService;
  /** Operators' resolutions of exception money (HTTP only). */
  resolutions?: ResolutionService;
  /** A user's ledger entries and balances with what is pending (HTTP only). */
  ledger?: LedgerService;
  principal: Principal | null;
  idempotencyKey?: string;
}

export function requireTenant(ctx: GraphQLContext): TenantAuth {
  if (!ctx.principal) throw UnauthenticatedError.missingKey();
  if (ctx.principal.kind !== 'tenant') throw new ForbiddenError('a client token may only subscribe to its own deposit');
  return ctx.principal.tenant;
}

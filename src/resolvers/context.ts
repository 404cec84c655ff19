import type { DepositService } from '../services/deposits.service.js';
import { ForbiddenError, UnauthenticatedError } from '../lib/errors.js';
import type { TenantAuth } from '../services/tenants.service.js';
import type { StatusStream } from '../services/status-stream.js';

/** Who is asking: a tenant (API key), or a browser holding one deposit's client token (graphql-ws only). */
export type Principal =
  { kind: 'tenant'; tenant: TenantAuth } | { kind: 'client'; depositId: string; tenantId: string };

/** What resolvers may use. They translate arguments to one service call; the rules live in the services. */
export interface GraphQLContext {
  deposits: DepositService;
  statusStream?: StatusStream;
  principal: Principal | null;
  idempotencyKey?: string;
}

export function requireTenant(ctx: GraphQLContext): TenantAuth {
  if (!ctx.principal) throw UnauthenticatedError.missingKey();
  if (ctx.principal.kind !== 'tenant') throw new ForbiddenError('a client token may only subscribe to its own deposit');
  return ctx.principal.tenant;
}

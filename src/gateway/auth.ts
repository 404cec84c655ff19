import type { FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { SignatureError } from '../lib/errors.js';
import { verifyPayloadHash } from '../lib/signatures/payload-hash.js';
import { DEFAULT_TOLERANCE_SECONDS } from '../lib/signatures/standard-webhooks.js';
import type { Principal, TenantPrincipal } from '../resolvers/context.js';
import { toGraphQLError } from '../resolvers/error-mapping.middleware.js';
import type { ClientTokens } from '../services/client-token.js';
import type { DepositService } from '../services/deposits.service.js';
import type { KeyAuth, TenantService } from '../services/tenants.service.js';

/**
 * Who is asking, for both transports: an API key (and, for a tenant with an HMAC secret, its
 * signature), or over the socket a deposit's client token. The principal this yields is what
 * resolvers authorize against (`resolvers/context.ts`).
 */

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    /** Who sent a GraphQL request, once its API key (and payload hash) checked out. */
    principal?: Principal;
  }
}

export interface Authenticators {
  tenants: TenantService;
  deposits: DepositService;
  clientTokens: ClientTokens;
}

export const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The API key (and, for a tenant with an HMAC secret, the payload hash of the raw body):
 * the principal is set on the request, or the refusal is returned. Postgres away while the
 * key is looked up is 503 SERVICE_UNAVAILABLE, as for any resolver.
 */
export async function authenticate(a: Authenticators, request: FastifyRequest): Promise<GraphQLError | undefined> {
  const apiKey = header(request, 'x-api-key');
  if (!apiKey) return unauthenticated('missing x-api-key header');
  let tenant: KeyAuth | null;
  try {
    tenant = await a.tenants.authenticate(apiKey);
  } catch (err) {
    const mapped = toGraphQLError(err);
    if (mapped instanceof GraphQLError) return mapped;
    throw err;
  }
  if (!tenant) return unauthenticated('invalid API key');
  if (tenant.hmacSecret) {
    // The same scheme as instap's webhooks (contract): one implementation of it.
    try {
      verifyPayloadHash(tenant.hmacSecret, request.rawBody ?? Buffer.alloc(0), header(request, 'x-payload-hash'));
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      return new GraphQLError(err.message, { extensions: { code: 'errorHmacDoesNotMatch', http: { status: 401 } } });
    }
  }
  request.principal = tenantPrincipal(tenant);
  return undefined;
}

/** The principal of an API key that checked out: its tenant, and which key (role, label). */
export function tenantPrincipal(auth: KeyAuth): TenantPrincipal {
  const { keyId, role, label, ...tenant } = auth;
  return { kind: 'tenant', tenant, keyId, role, label };
}

/**
 * `{ apiKey }` (the whole tenant) or `{ clientToken }` (one deposit); anything else is refused.
 * A tenant with an HMAC secret also signs the connection: `timestamp` (unix seconds, within
 * 5 minutes of now) and `payloadHash`, the instap scheme over `{timestamp}.{apiKey}`.
 */
export async function socketPrincipal(
  a: Authenticators,
  params: Record<string, unknown> | undefined,
): Promise<Principal | null> {
  if (typeof params?.apiKey === 'string') {
    const tenant = await a.tenants.authenticate(params.apiKey);
    if (!tenant) return null;
    if (tenant.hmacSecret && !signedConnection(tenant.hmacSecret, params.apiKey, params)) return null;
    return tenantPrincipal(tenant);
  }
  if (typeof params?.clientToken === 'string') {
    const depositId = a.clientTokens.verify(params.clientToken);
    const deposit = depositId ? await a.deposits.getById(depositId) : null;
    return deposit ? { kind: 'client', depositId: deposit.id, tenantId: deposit.tenantId } : null;
  }
  return null;
}

function signedConnection(secret: string, apiKey: string, params: Record<string, unknown>): boolean {
  const { timestamp, payloadHash } = params;
  const text = typeof timestamp === 'number' || typeof timestamp === 'string' ? String(timestamp) : '';
  if (!/^\d{1,12}$/.test(text)) return false;
  if (Math.abs(Date.now() / 1000 - Number(text)) > DEFAULT_TOLERANCE_SECONDS) return false;
  try {
    verifyPayloadHash(secret, `${text}.${apiKey}`, typeof payloadHash === 'string' ? payloadHash : undefined);
    return true;
  } catch (err) {
    if (err instanceof SignatureError) return false;
    throw err;
  }
}

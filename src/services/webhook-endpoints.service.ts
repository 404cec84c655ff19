import type pg from 'pg';
import { BadUserInputError, NotFoundError } from '../lib/errors.js';
import { checkUrl, UnsafeUrlError, type LookupAll } from '../lib/outbound/address-policy.js';
import { generateWhsecSecret } from '../lib/signatures/standard-webhooks.js';
import {
  listDeliveries,
  redeliver,
  redeliverFailedSince,
  type DeliveryPage,
  type DeliveryStatus,
  type WebhookDeliveryRecord,
} from '../store/webhook-deliveries.store.js';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
  type WebhookEndpointRecord,
} from '../store/webhook-endpoints.store.js';

export const MAX_URL_LENGTH = 2000;
export const MAX_DESCRIPTION_LENGTH = 500;
export const MAX_DELIVERIES_PAGE = 100;

export interface WebhookEndpointsOptions {
  pool: pg.Pool;
  /** `OUTBOUND_ALLOW_PRIVATE_URLS`. */
  allowPrivateUrls: boolean;
  /** The resolver of the address check; tests pass their own. */
  lookup?: LookupAll;
}

/** An endpoint with its secret: only what `create` and `rotateSecret` return, once. */
export interface EndpointWithSecret {
  endpoint: WebhookEndpointRecord;
  secret: string;
}

/**
 * Merchant webhook endpoints and their delivery log, for operators (the resolvers check the
 * role; every call here is scoped to the caller's tenant, and another tenant's id is
 * NOT_FOUND, exactly as an id that does not exist).
 */
export class WebhookEndpointService {
  constructor(private readonly o: WebhookEndpointsOptions) {}

  list(tenantId: string): Promise<WebhookEndpointRecord[]> {
    return listEndpoints(this.o.pool, tenantId);
  }

  async create(tenantId: string, input: { url: string; description?: string | null }): Promise<EndpointWithSecret> {
    const url = await this.checkedUrl(input.url);
    const description = checkDescription(input.description);
    const secret = generateWhsecSecret();
    const endpoint = await insertEndpoint(this.o.pool, { tenantId, url, description, secret });
    return { endpoint, secret };
  }

  async update(
    tenantId: string,
    id: string,
    input: { url?: string | null; description?: string | null; enabled?: boolean | null },
  ): Promise<WebhookEndpointRecord> {
    // Existence first: another tenant's id says NOT_FOUND whatever else is wrong with the input.
    await this.get(tenantId, id);
    const url = input.url == null ? undefined : await this.checkedUrl(input.url);
    const description = input.description === undefined ? undefined : checkDescription(input.description);
    const updated = await updateEndpoint(this.o.pool, tenantId, id, {
      url,
      description,
      enabled: input.enabled ?? undefined,
    });
    if (!updated) throw new NotFoundError('webhook endpoint', id);
    return updated;
  }

  async delete(tenantId: string, id: string): Promise<boolean> {
    if (!(await deleteEndpoint(this.o.pool, tenantId, id))) throw new NotFoundError('webhook endpoint', id);
    return true;
  }

  async rotateSecret(tenantId: string, id: string): Promise<EndpointWithSecret> {
    const secret = generateWhsecSecret();
    const endpoint = await rotateSecret(this.o.pool, tenantId, id, secret);
    if (!endpoint) throw new NotFoundError('webhook endpoint', id);
    return { endpoint, secret };
  }

  async deliveries(
    tenantId: string,
    f: { endpointId: string; status?: DeliveryStatus | null; first: number; after?: string | null },
  ): Promise<DeliveryPage> {
    if (!Number.isInteger(f.first) || f.first < 1 || f.first > MAX_DELIVERIES_PAGE) {
      throw new BadUserInputError('first', `must be between 1 and ${MAX_DELIVERIES_PAGE}`);
    }
    await this.get(tenantId, f.endpointId);
    return listDeliveries(this.o.pool, { tenantId, ...f });
  }

  async redeliver(tenantId: string, deliveryId: string): Promise<WebhookDeliveryRecord> {
    const delivery = await redeliver(this.o.pool, tenantId, deliveryId);
    if (!delivery) throw new NotFoundError('webhook delivery', deliveryId);
    return delivery;
  }

  async redeliverFailed(tenantId: string, endpointId: string, since: Date): Promise<number> {
    await this.get(tenantId, endpointId);
    return redeliverFailedSince(this.o.pool, tenantId, endpointId, since);
  }

  private async get(tenantId: string, id: string): Promise<WebhookEndpointRecord> {
    const endpoint = await findEndpoint(this.o.pool, tenantId, id);
    if (!endpoint) throw new NotFoundError('webhook endpoint', id);
    return endpoint;
  }

  /** The URL as it will be stored (WHATWG-normalized), or BAD_USER_INPUT on `url` saying why not. */
  private async checkedUrl(url: string): Promise<string> {
    if (url.length > MAX_URL_LENGTH) throw new BadUserInputError('url', `must be at most ${MAX_URL_LENGTH} characters`);
    try {
      const checked = await checkUrl(url, { allowPrivate: this.o.allowPrivateUrls, lookup: this.o.lookup });
      const normalized = checked.url.toString();
      if (normalized.length > MAX_URL_LENGTH) {
        throw new BadUserInputError('url', `must be at most ${MAX_URL_LENGTH} characters`);
      }
      return normalized;
    } catch (err) {
      // The message names the refused class, never the address a name resolved to (that would map our network).
      if (err instanceof UnsafeUrlError) throw new BadUserInputError('url', err.message);
      throw err;
    }
  }
}

function checkDescription(description: string | null | undefined): string | null {
  if (description == null) return null;
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw new BadUserInputError('description', `must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  if (description.includes('\u0000')) throw new BadUserInputError('description', 'must not contain NUL characters');
  return description;
}

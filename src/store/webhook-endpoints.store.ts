import type { Sql } from '../db/sql.js';

/**
 * `webhook_endpoint`: a tenant's merchant webhook endpoints and the secrets that sign for
 * them. The only code that writes the table. Every statement is scoped by tenant, so an
 * id of another tenant reads and writes nothing (the caller says NOT_FOUND).
 *
 * The secrets are read only by `signingEndpoint` (the dispatcher); `WebhookEndpointRecord`
 * has no secret, so nothing that lists or returns endpoints can leak one.
 */

/** How long the secret replaced by a rotation keeps signing (the contract's 24 hours). */
export const ROTATION_OVERLAP_HOURS = 24;

export interface WebhookEndpointRecord {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, tenant_id, url, description, enabled, disabled_reason, created_at, updated_at';

function fromRow(r: EndpointRow): WebhookEndpointRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    description: r.description,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** Ids a caller sends are checked as UUIDs before they reach Postgres (a malformed one is "not found", not a 500). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function insertEndpoint(
  sql: Sql,
  e: { tenantId: string; url: string; description: string | null; secret: string },
): Promise<WebhookEndpointRecord> {
  const rows = await sql.query<EndpointRow>(
    `insert into webhook_endpoint (tenant_id, url, description, secret) values ($1, $2, $3, $4) returning ${COLUMNS}`,
    [e.tenantId, e.url, e.description, e.secret],
  );
  return fromRow(rows.rows[0]);
}

export async function listEndpoints(sql: Sql, tenantId: string): Promise<WebhookEndpointRecord[]> {
  const rows = await sql.query<EndpointRow>(
    `select ${COLUMNS} from webhook_endpoint where tenant_id = $1 order by created_at, id`,
    [tenantId],
  );
  return rows.rows.map(fromRow);
}

export async function findEndpoint(sql: Sql, tenantId: string, id: string): Promise<WebhookEndpointRecord | null> {
  if (!UUID.test(id)) return null;
  const rows = await sql.query<EndpointRow>(
    `select ${COLUMNS} from webhook_endpoint where tenant_id = $1 and id = $2`,
    [tenantId, id],
  );
  return rows.rows[0] ? fromRow(rows.rows[0]) : null;
}

export interface EndpointChanges {
  url?: string;
  /** null clears it. */
  description?: string | null;
  enabled?: boolean;
}

/** Applies the given changes; enabling clears `disabled_reason` and the failure streak. Null when not the tenant's. */
export async function updateEndpoint(
  sql: Sql,
  tenantId: string,
  id: string,
  c: EndpointChanges,
): Promise<WebhookEndpointRecord | null> {
  if (!UUID.test(id)) return null;
  const rows = await sql.query<EndpointRow>(
    `update webhook_endpoint set
       url = coalesce($3, url),
       description = case when $4 then $5 else description end,
       enabled = coalesce($6, enabled),
       disabled_reason = case when $6 is null then disabled_reason when $6 then null else 'disabled by an operator' end,
       failing_since = case when $6 then null else failing_since end,
       updated_at = now()
     where tenant_id = $1 and id = $2 returning ${COLUMNS}`,
    [tenantId, id, c.url ?? null, c.description !== undefined, c.description ?? null, c.enabled ?? null],
  );
  return rows.rows[0] ? fromRow(rows.rows[0]) : null;
}

/** Deletes the endpoint and, by cascade, its deliveries (pending ones are dropped). */
export async function deleteEndpoint(sql: Sql, tenantId: string, id: string): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const rows = await sql.query('delete from webhook_endpoint where tenant_id = $1 and id = $2', [tenantId, id]);
  return (rows.rowCount ?? 0) > 0;
}

/** The current secret becomes the previous one, signing for `ROTATION_OVERLAP_HOURS` more; `secret` signs from now. */
export async function rotateSecret(
  sql: Sql,
  tenantId: string,
  id: string,
  secret: string,
): Promise<WebhookEndpointRecord | null> {
  if (!UUID.test(id)) return null;
  const rows = await sql.query<EndpointRow>(
    `update webhook_endpoint set previous_secret = secret,
       previous_secret_expires_at = now() + make_interval(hours => $4), secret = $3, updated_at = now()
     where tenant_id = $1 and id = $2 returning ${COLUMNS}`,
    [tenantId, id, secret, ROTATION_OVERLAP_HOURS],
  );
  return rows.rows[0] ? fromRow(rows.rows[0]) : null;
}

/**
 * After a failed attempt: starts the endpoint's failure streak if none runs, and disables it
 * when the streak is older than `disableAfterMs` (every delivery failed all that time).
 * @returns whether this call disabled it.
 */
export async function recordEndpointFailure(sql: Sql, id: string, disableAfterMs: number): Promise<boolean> {
  const rows = await sql.query<{ disabled: boolean }>(
    `with e as (select id, enabled, failing_since < now() - make_interval(secs => $2::float8 / 1000) as expired
                from webhook_endpoint where id = $1 for update)
     update webhook_endpoint w set failing_since = coalesce(w.failing_since, now()),
       enabled = w.enabled and not e.expired,
       disabled_reason = case when w.enabled and e.expired then $3 else w.disabled_reason end,
       updated_at = case when w.enabled and e.expired then now() else w.updated_at end
     from e where w.id = e.id
     returning coalesce(e.enabled and e.expired, false) as disabled`,
    [id, disableAfterMs, `every delivery failed for ${Math.round(disableAfterMs / 86_400_000)} days`],
  );
  return rows.rows[0]?.disabled ?? false;
}

/** After a successful attempt: the endpoint works, its failure streak ends. */
export async function recordEndpointSuccess(sql: Sql, id: string): Promise<void> {
  await sql.query('update webhook_endpoint set failing_since = null where id = $1 and failing_since is not null', [id]);
}

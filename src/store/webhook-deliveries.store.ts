import type { Sql } from '../db/sql.js';
import { BadUserInputError } from '../lib/errors.js';
import { STATUS_CHANGE_COLUMNS, toMessage, type StatusChangeSelected, type StatusMessage } from './outbox.store.js';
import { UUID } from './webhook-endpoints.store.js';

/**
 * `webhook_delivery`: the durable queue of merchant webhooks, one row per status change and
 * endpoint. Rows are inserted by the outbox store in the transaction of the change
 * (`addStatusChanges`); everything else that writes them is here: the dispatchers' claims
 * and outcomes, and the operators' redeliveries.
 */

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookDeliveryRecord {
  id: string;
  endpointId: string;
  /** `webhook-id`: derived from the change, so every attempt and redelivery of it carries the same one. */
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  /** When it is due (PENDING only). */
  nextAttemptAt: Date | null;
  createdAt: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  outbox_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  last_attempt_at: Date | null;
  last_response_status: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  created_at: Date;
}

const COLUMNS = `id, endpoint_id, outbox_id, event_type, status, attempts, last_attempt_at, last_response_status,
  last_error, next_attempt_at, created_at`;

/** The webhook-id of a status change: the outbox row's id, stable whoever sends it and however often. */
export function eventIdOf(outboxId: string): string {
  return `evt_${outboxId}`;
}

function fromRow(r: DeliveryRow): WebhookDeliveryRecord {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    eventId: eventIdOf(String(r.outbox_id)),
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    lastAttemptAt: r.last_attempt_at && new Date(r.last_attempt_at),
    lastResponseStatus: r.last_response_status,
    lastError: r.last_error,
    nextAttemptAt: r.status === 'PENDING' && r.next_attempt_at ? new Date(r.next_attempt_at) : null,
    createdAt: new Date(r.created_at),
  };
}

/** A claimed delivery with everything one attempt needs. */
export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  /** Attempts made before this one. */
  attempts: number;
  url: string;
  /** Every secret that signs now: the current one, and the previous one during its overlap. Never logged. */
  secrets: string[];
  /** The endpoint's deliveries have been failing (a success must end the streak). */
  endpointFailing: boolean;
  change: StatusMessage;
}

export interface ClaimOptions {
  /** Endpoints this process is already sending to, with how many more requests each may take now. */
  busy: readonly { endpointId: string; capacity: number }[];
  /** How many an endpoint not in `busy` may take. */
  perEndpoint: number;
  /** How many overall. */
  limit: number;
  /** How long the claim holds: no other dispatcher takes the rows before it ends. */
  leaseMs: number;
}

/**
 * Claims due deliveries of enabled endpoints, at most each endpoint's free capacity, and
 * leases them (`claimed_until`, past which another may take them) in one short statement: the
 * row locks (`for update skip locked`, so dispatchers never wait for each other or take the
 * same row) end with it, and nothing is locked while the requests are made. A dispatcher
 * that dies leaves its claims to be taken again when the lease ends.
 *
 * Only changes the relay has sequenced are claimed: `data.cursor` is their `seq`.
 */
export async function claimDue(sql: Sql, o: ClaimOptions): Promise<ClaimedDelivery[]> {
  if (o.limit <= 0) return [];
  const rows = await sql.query<
    StatusChangeSelected & {
      delivery_id: string;
      endpoint_id: string;
      outbox_id: string;
      event_type: string;
      attempts: number;
      url: string;
      secret: string;
      previous_secret: string | null;
      endpoint_failing: boolean;
    }
  >(
    `with busy as (select * from unnest($1::uuid[], $2::int[]) as b(endpoint_id, capacity)),
          claimed as (
            select c.id from webhook_endpoint e
            left join busy on busy.endpoint_id = e.id
            cross join lateral (
              select w.id from webhook_delivery w join outbox o on o.id = w.outbox_id
              where w.endpoint_id = e.id and w.status = 'PENDING' and w.next_attempt_at <= now() and o.seq is not null
                and (w.claimed_until is null or w.claimed_until < now())
              order by w.next_attempt_at
              limit greatest(coalesce(busy.capacity, $3), 0)
              for update of w skip locked) c
            where e.enabled
            limit $4),
          leased as (
            update webhook_delivery w set claimed_until = now() + make_interval(secs => $5::float8 / 1000)
            from claimed where w.id = claimed.id
            returning w.id, w.endpoint_id, w.outbox_id, w.event_type, w.attempts)
     select l.id as delivery_id, l.endpoint_id, l.outbox_id, l.event_type, l.attempts, e.url, e.secret,
            case when e.previous_secret_expires_at > now() then e.previous_secret end as previous_secret,
            e.failing_since is not null as endpoint_failing,
            ${STATUS_CHANGE_COLUMNS}
     from leased l join webhook_endpoint e on e.id = l.endpoint_id
       join outbox o on o.id = l.outbox_id join deposit d on d.id = o.deposit_id`,
    [o.busy.map((b) => b.endpointId), o.busy.map((b) => b.capacity), o.perEndpoint, o.limit, o.leaseMs],
  );
  return rows.rows.map((r) => ({
    id: r.delivery_id,
    endpointId: r.endpoint_id,
    eventId: eventIdOf(String(r.outbox_id)),
    eventType: r.event_type,
    attempts: r.attempts,
    url: r.url,
    secrets: r.previous_secret ? [r.secret, r.previous_secret] : [r.secret],
    endpointFailing: r.endpoint_failing,
    change: toMessage(r),
  }));
}

export interface AttemptOutcome {
  ok: boolean;
  status?: number;
  error?: string;
  /** When to try again (ms from now), or null: no attempt left, the delivery is FAILED. Ignored when ok. */
  retryInMs: number | null;
}

/** Writes an attempt's outcome; returns the delivery's new status. */
export async function recordAttempt(sql: Sql, id: string, o: AttemptOutcome): Promise<DeliveryStatus> {
  const status: DeliveryStatus = o.ok ? 'SUCCEEDED' : o.retryInMs === null ? 'FAILED' : 'PENDING';
  await sql.query(
    `update webhook_delivery set status = $2, attempts = attempts + 1, last_attempt_at = now(),
       last_response_status = $3, last_error = $4, claimed_until = null,
       next_attempt_at = case when $2 = 'PENDING' then now() + make_interval(secs => $5::float8 / 1000) end
     where id = $1`,
    [id, status, o.status ?? null, o.ok ? null : (o.error ?? 'failed').slice(0, 200), o.retryInMs ?? 0],
  );
  return status;
}

/** Writes the successful attempts of several deliveries in one statement (the dispatcher batches them). */
export async function recordSuccesses(sql: Sql, done: readonly { id: string; status: number }[]): Promise<void> {
  if (done.length === 0) return;
  await sql.query(
    `update webhook_delivery w set status = 'SUCCEEDED', attempts = w.attempts + 1, last_attempt_at = now(),
       last_response_status = v.status, last_error = null, next_attempt_at = null, claimed_until = null
     from unnest($1::uuid[], $2::int[]) as v(id, status) where w.id = v.id`,
    [done.map((d) => d.id), done.map((d) => d.status)],
  );
}

/** Gives claimed deliveries back at once (a dispatcher that claimed more than it could send). */
export async function releaseClaims(sql: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql.query(`update webhook_delivery set claimed_until = null where id = any($1::uuid[])`, [ids]);
}

/** Deliveries waiting to be sent or retried, every tenant's. */
export async function pendingCount(sql: Sql): Promise<number> {
  const rows = await sql.query<{ n: string }>(`select count(*) as n from webhook_delivery where status = 'PENDING'`);
  return Number(rows.rows[0].n);
}

function encodeCursor(d: WebhookDeliveryRecord): string {
  return Buffer.from(`wd:${d.createdAt.toISOString()}|${d.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const m = /^wd:([0-9TZ:.-]{20,30})\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const createdAt = m ? new Date(m[1]) : undefined;
  if (!m || !createdAt || Number.isNaN(createdAt.getTime()) || !UUID.test(m[2])) {
    throw new BadUserInputError('after', 'is not a cursor returned by webhookDeliveries');
  }
  return { createdAt, id: m[2] };
}

export interface DeliveryPage {
  edges: { cursor: string; node: WebhookDeliveryRecord }[];
  hasNextPage: boolean;
}

/** An endpoint's deliveries, newest first (the endpoint is the tenant's: the caller checked). */
export async function listDeliveries(
  sql: Sql,
  f: { tenantId: string; endpointId: string; status?: DeliveryStatus | null; first: number; after?: string | null },
): Promise<DeliveryPage> {
  const params: unknown[] = [f.tenantId, f.endpointId];
  const where = ['tenant_id = $1', 'endpoint_id = $2'];
  if (f.status) where.push(`status = $${params.push(f.status)}`);
  if (f.after) {
    const c = decodeCursor(f.after);
    where.push(`(created_at, id) < ($${params.push(c.createdAt)}, $${params.push(c.id)}::uuid)`);
  }
  const rows = await sql.query<DeliveryRow>(
    `select ${COLUMNS} from webhook_delivery where ${where.join(' and ')}
     order by created_at desc, id desc limit $${params.push(f.first + 1)}`,
    params,
  );
  const nodes = rows.rows.slice(0, f.first).map(fromRow);
  return {
    edges: nodes.map((node) => ({ cursor: encodeCursor(node), node })),
    hasNextPage: rows.rows.length > f.first,
  };
}

/**
 * Queues one delivery again, due now (same row, so the same eventId). Null when it is not the
 * tenant's. A delivery being sent keeps its claim: it is not sent a second time at once.
 */
export async function redeliver(sql: Sql, tenantId: string, id: string): Promise<WebhookDeliveryRecord | null> {
  if (!UUID.test(id)) return null;
  const rows = await sql.query<DeliveryRow>(
    `update webhook_delivery set status = 'PENDING', next_attempt_at = now()
     where tenant_id = $1 and id = $2 returning ${COLUMNS}`,
    [tenantId, id],
  );
  return rows.rows[0] ? fromRow(rows.rows[0]) : null;
}

/** Queues again every FAILED delivery of the endpoint created at or after `since`; how many. */
export async function redeliverFailedSince(
  sql: Sql,
  tenantId: string,
  endpointId: string,
  since: Date,
): Promise<number> {
  const rows = await sql.query(
    `update webhook_delivery set status = 'PENDING', next_attempt_at = now()
     where tenant_id = $1 and endpoint_id = $2 and status = 'FAILED' and created_at >= $3`,
    [tenantId, endpointId, since],
  );
  return rows.rowCount ?? 0;
}

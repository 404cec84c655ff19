import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Sql } from '../db/sql.js';

/** `idempotency_key`: createDeposit's Idempotency-Key per tenant, and the deposit it stands for. The only code that writes it. */

export interface KeyClaim {
  tenantId: string;
  key: string;
  requestHash: string;
  depositId: string;
  expiresAt: Date;
}

/**
 * Inserts the key for `depositId`, or finds what it already stands for. A concurrent request
 * with the same key waits on the unique index until the first commits (then reads its row) or
 * rolls back (then claims it itself). An expired key is taken over.
 * @returns undefined when claimed; else the request hash and deposit of the earlier claim.
 */
export async function claimKey(
  c: pg.PoolClient,
  k: KeyClaim,
): Promise<{ requestHash: string; depositId: string } | undefined> {
  // Prepared (named): createDeposit with a key runs it on every request.
  const claimed = await c.query({
    name: 'idempotency-claim',
    text: `insert into idempotency_key (id, tenant_id, key, request_hash, deposit_id, expires_at) values ($1, $2, $3, $4, $5, $6)
     on conflict (tenant_id, key) do update
       set request_hash = excluded.request_hash, deposit_id = excluded.deposit_id, created_at = now(), expires_at = excluded.expires_at
       where idempotency_key.expires_at < now()
     returning deposit_id`,
    values: [randomUUID(), k.tenantId, k.key, k.requestHash, k.depositId, k.expiresAt],
  });
  if (claimed.rows.length > 0) return undefined;
  const rows = await c.query<{ request_hash: string; deposit_id: string }>(
    'select request_hash, deposit_id from idempotency_key where tenant_id = $1 and key = $2',
    [k.tenantId, k.key],
  );
  return { requestHash: rows.rows[0].request_hash, depositId: rows.rows[0].deposit_id };
}

/** Forgets keys older than their lifetime. */
export async function deleteExpiredKeys(sql: Sql): Promise<void> {
  await sql.query('delete from idempotency_key where expires_at < now()');
}

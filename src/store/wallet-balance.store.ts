import { randomUUID } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import type { WalletBalanceEventInput } from '../domain/events.js';

/** `wallet_balance`: a provider's own report of its wallets (layer1 balance:updated). The only code that writes it. */

/** Latest wins by the provider's time. @returns whether the event changed the stored balance. */
export async function upsertWalletBalance(
  sql: Sql,
  provider: string,
  e: WalletBalanceEventInput,
  receivedAt: Date,
): Promise<boolean> {
  const rows = await sql.query(
    `insert into wallet_balance (id, provider, address, asset, available, blockchain, reserved, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (provider, address, asset) do update set available = excluded.available, blockchain = excluded.blockchain,
       reserved = excluded.reserved, updated_at = excluded.updated_at
     where wallet_balance.updated_at <= excluded.updated_at
     returning id`,
    [randomUUID(), provider, e.address, e.asset, e.available, e.blockchain, e.reserved, e.occurredAt ?? receivedAt],
  );
  return rows.rows.length > 0;
}

import { randomUUID } from 'node:crypto';
import { EventSource } from '../domain/audit.js';
import type { DepositEventInput } from '../domain/events.js';
import { columns, unnest, type BatchStatement } from './batch-statement.js';
import type { DepositRecord } from './deposits.store.js';

/**
 * `deposit_event`: a deposit's timeline, one row per provider event that reached it, whatever
 * it changed. Unique per inbox row, so applying an event again never adds a second row. The
 * only code that writes the table.
 */

export interface TimelineEntry {
  deposit: Pick<DepositRecord, 'id'>;
  /** The inbox row that delivered it (none for an operator's or the sweeper's event), and when it arrived. */
  stored: { inboxId: string | null; receivedAt: Date };
  /** Where it came from; a provider's delivery when absent. Actor, reason and reference: an operator's. */
  audit?: { source: EventSource; actor?: string; reason?: string; reference?: string };
  event: DepositEventInput;
  /** The money the rules judged (see `moneyFor`), where the event carries any. */
  money?: { amount: string; currency: string };
}

/** Adds the events to their deposits' timelines, in a batch. */
export function addTimelineEntries(batch: BatchStatement, entries: readonly TimelineEntry[]): void {
  if (entries.length === 0) return;
  batch.addCte(
    'ev',
    `insert into deposit_event (id, deposit_id, inbox_id, status, provider_status, amount, currency,
        tx_hash, network, fee, occurred_at, received_at, source, actor, reason, reference)
      select * from ${unnest(['uuid', 'uuid', 'bigint', 'text', 'text', 'numeric', 'text', 'text', 'text', 'numeric', 'timestamptz', 'timestamptz', 'text', 'text', 'text', 'text'])}
      on conflict (inbox_id) do nothing`,
    columns(entries, ({ deposit, stored: { inboxId, receivedAt }, event: e, money, audit }) => [
      randomUUID(),
      deposit.id,
      inboxId,
      e.status,
      // Provider text is kept, cut to its column's width.
      e.providerStatus.slice(0, 100),
      money?.amount ?? null,
      money?.currency ?? null,
      e.txHash?.slice(0, 200) ?? null,
      e.network?.slice(0, 100) ?? null,
      e.fee ?? null,
      (e.occurredAt ?? receivedAt).toISOString(),
      receivedAt.toISOString(),
      audit?.source ?? EventSource.WEBHOOK,
      audit?.actor?.slice(0, 200) ?? null,
      audit?.reason?.slice(0, 500) ?? null,
      audit?.reference?.slice(0, 200) ?? null,
    ]),
  );
}

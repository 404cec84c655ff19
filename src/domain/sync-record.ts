import type { DepositEventInput, UnsupportedEventInput } from './events.js';

/**
 * How a status-sync answer is kept in the inbox: the provider's answer as it said it, and the
 * event it was mapped to (already pinned to the deposit asked about), so that the inbox
 * processor and a replay apply exactly what the sync applied, without asking again.
 */
export interface SyncRecord {
  answer: unknown;
  event: DepositEventInput | UnsupportedEventInput;
}

/** Stable text (the dedupe key hashes the event part: the same answer, the same key). */
export function encodeSyncRecord(r: SyncRecord): string {
  return JSON.stringify({ answer: r.answer, event: r.event });
}

/** The event's part of the record: what makes two answers the same. */
export function encodeSyncEvent(event: SyncRecord['event']): string {
  return JSON.stringify(event);
}

const TIMES = ['occurredAt', 'paidAt'] as const;

export function decodeSyncRecord(body: string): SyncRecord {
  const r = JSON.parse(body) as SyncRecord;
  const e = r.event as unknown as Record<string, unknown>;
  for (const k of TIMES) if (typeof e[k] === 'string') e[k] = new Date(e[k]);
  return r;
}

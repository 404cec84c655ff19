import { createHash } from 'node:crypto';

/** The width of `webhook_inbox.dedupe_key`. */
const MAX_KEY_LENGTH = 255;

/**
 * The inbox key of a delivery. Standard Webhooks sets no limit on `webhook-id`: a longer
 * one is kept as its SHA-256, which is as stable across the provider's retries, instead
 * of failing the insert (and answering 503 to a delivery that could never be stored).
 */
export function inboxKey(dedupeKey: string): string {
  return dedupeKey.length <= MAX_KEY_LENGTH
    ? dedupeKey
    : `sha256:${createHash('sha256').update(dedupeKey).digest('hex')}`;
}

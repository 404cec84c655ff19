/** Display helpers. Everything returns plain strings; React renders them as text. */

interface Amounts {
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
}

/** The amount asked: a fixed amount, or the open range `min – max`. */
export function formatAsked(d: Amounts): string {
  if (d.amount != null) return d.amount;
  if (d.minAmount != null || d.maxAmount != null) return `${d.minAmount ?? '0'} – ${d.maxAmount ?? '…'}`;
  return '—';
}

export function formatMoney(amount: string | null | undefined, currency: string | null | undefined): string {
  if (amount == null) return '—';
  return currency ? `${amount} ${currency}` : amount;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** A local date and time; the exact UTC instant goes in a title/dateTime attribute beside it. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : dateTime.format(t);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

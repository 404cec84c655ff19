/**
 * One answer, for every caller, to "is Postgres away?" (refused, dropped, hanging,
 * shutting down): the webhook sidecar then answers 503 and acknowledges nothing, and
 * GraphQL answers SERVICE_UNAVAILABLE, instead of treating it as a bug.
 */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isStorageUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    UNAVAILABLE_CODES.has(code) ||
    /^(08|57P0|53)/.test(code) || // connection exception, admin shutdown, insufficient resources
    code === '57014' || // statement timeout
    /timeout|terminated|Connection terminated|not queryable|ECONNREFUSED/i.test(message)
  );
}

/** A deadlock or serialization failure: the transaction was aborted for another's sake, not for what it did. */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

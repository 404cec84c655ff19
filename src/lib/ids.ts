const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its usual text form: the only ids Postgres's `uuid` columns take (anything else is no match). */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

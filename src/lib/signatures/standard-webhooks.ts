import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '../crypto.js';
import { SignatureError } from '../errors.js';

/**
 * The Standard Webhooks scheme (standardwebhooks.com), used by sandbox, layer1,
 * depasify and finrax: `webhook-signature` carries one or more `v1,<base64>`
 * HMAC-SHA256 signatures of `${webhook-id}.${webhook-timestamp}.${raw body}`,
 * keyed with the base64-decoded part of a `whsec_` secret.
 */

const SECRET_PREFIX = 'whsec_';
/** The contract's window, both ways: a replayed or pre-dated delivery is refused. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

type Headers = Readonly<Record<string, string | undefined>>;

function keyOf(secret: string): Buffer {
  // The reference libraries accept the bare base64 key too; so do we.
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new TypeError('a Standard Webhooks secret must be whsec_<base64 key>');
  return key;
}

/**
 * The scheme's one HMAC: base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` under `key`. Both
 * directions use it: verifying what providers send, and signing the merchant webhooks
 * (`lib/outbound/sign.ts`).
 */
export function standardWebhookDigest(key: Buffer, id: string, timestamp: string, body: string | Buffer): string {
  // The body goes in as bytes: decoding and re-encoding would change what was signed.
  return createHmac('sha256', key)
    .update(`${id}.${timestamp}.`)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('base64');
}

/** `v1,<signature>` for a delivery, as a provider would send it in `webhook-signature`. */
export function signStandardWebhook(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  return `v1,${standardWebhookDigest(keyOf(secret), id, String(timestamp), body)}`;
}

/**
 * Throws `SignatureError` unless `body` is signed with `secret` by one of the `v1`
 * signatures in `headers` and the timestamp is within `toleranceSeconds` of `now`.
 * @param headers lower-cased request headers.
 */
export function verifyStandardWebhook(
  secret: string,
  body: Buffer,
  headers: Headers,
  now: Date,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): void {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) {
    throw new SignatureError(
      'MISSING_SIGNATURE_HEADERS',
      'webhook-id, webhook-timestamp and webhook-signature headers are required',
    );
  }

  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new SignatureError('INVALID_TIMESTAMP', 'webhook-timestamp must be unix seconds');
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const sentSeconds = Number(timestamp);
  if (nowSeconds - sentSeconds > toleranceSeconds) {
    throw new SignatureError('TIMESTAMP_OUT_OF_RANGE', 'webhook-timestamp is too old');
  }
  if (sentSeconds - nowSeconds > toleranceSeconds) {
    throw new SignatureError('TIMESTAMP_OUT_OF_RANGE', 'webhook-timestamp is too far in the future');
  }

  // Signed with the header text as sent, so the check never depends on how we would format the number.
  const expected = standardWebhookDigest(keyOf(secret), id, timestamp, body);
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== 'v1') continue;
    if (safeEqual(entry.slice(comma + 1), expected)) return;
  }
  throw new SignatureError('INVALID_SIGNATURE', 'no v1 signature in webhook-signature matches the body');
}

/** A fresh `whsec_` secret (24 random bytes, as the reference libraries generate). */
export function generateWhsecSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

import { standardWebhookDigest } from '../signatures/standard-webhooks.js';

/**
 * Signing of the gateway's own webhooks with the Standard Webhooks scheme
 * (standardwebhooks.com), the one the providers use towards us: HMAC-SHA256
 * of `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the
 * base64-decoded part of a `whsec_` secret, sent as `v1,<base64>`. A
 * merchant verifies it with any Standard Webhooks library.
 */

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The three headers of a signed delivery (a type, not an interface, so it passes as `deliver`'s header record). */
export type StandardWebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : '';
  // Buffer.from(..., 'base64') skips what it cannot decode; a mangled secret must fail, not sign with half a key.
  const padded = encoded.endsWith('=');
  if (!BASE64.test(encoded) || encoded.length % 4 === 1 || (padded && encoded.length % 4 !== 0)) {
    throw new TypeError('a webhook secret must be whsec_ followed by a base64 key');
  }
  return Buffer.from(encoded, 'base64');
}

function unixSeconds(timestamp: Date | number): string {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError('a webhook timestamp is a non-negative whole number of unix seconds');
  }
  return String(seconds);
}

function checkId(id: string): void {
  // The id is signed and sent as a header: empty or with whitespace it would verify nowhere.
  if (!/^[\x21-\x7e]{1,255}$/.test(id)) {
    throw new TypeError('a webhook id is 1 to 255 printable ASCII characters without spaces');
  }
}

/**
 * One `v1,<base64>` signature.
 * @param timestamp unix seconds, or a Date (its whole seconds).
 * @param body the exact bytes sent: a string is signed as UTF-8.
 */
export function signWebhook(secret: string, id: string, timestamp: Date | number, body: string | Buffer): string {
  checkId(id);
  // The HMAC itself is the verifier's (one computation in the code base); this side adds the strict checks.
  return `v1,${standardWebhookDigest(keyOf(secret), id, unixSeconds(timestamp), body)}`;
}

export interface SignedHeadersInput {
  /** `webhook-id`: the delivery's event id, the same on every attempt and redelivery so the merchant can dedupe. */
  id: string;
  /** `webhook-timestamp`: the time of this attempt (verifiers refuse one more than 5 minutes away from their clock). */
  timestamp: Date | number;
  /** The exact body that will be sent. */
  body: string | Buffer;
  /**
   * Every secret that is valid now: one, or two while a rotation overlaps
   * (the old one signs for 24 hours). One signature each, in this order.
   */
  secrets: readonly string[];
}

/** The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers of one attempt. */
export function signedHeaders({ id, timestamp, body, secrets }: SignedHeadersInput): StandardWebhookHeaders {
  if (secrets.length === 0) throw new TypeError('signing a webhook needs at least one secret');
  const seconds = unixSeconds(timestamp);
  return {
    'webhook-id': id,
    'webhook-timestamp': seconds,
    'webhook-signature': secrets.map((secret) => signWebhook(secret, id, Number(seconds), body)).join(' '),
  };
}

import { createHmac } from 'node:crypto';
import { safeEqual } from '../crypto.js';
import { SignatureError } from '../errors.js';

/**
 * instap's `x-payload-hash` (deposit-tracking-session.txt): base64 of the
 * HMAC-SHA512 of the exact body text, keyed with the secret used as a raw
 * UTF-8 string (not decoded from base64, unlike a `whsec_` secret).
 */
export function payloadHash(secret: string, body: Buffer | string): string {
  return createHmac('sha512', secret).update(body).digest('base64');
}

/** Throws `SignatureError('errorHmacDoesNotMatch')` unless `header` is the hash of `body` under `secret`. */
export function verifyPayloadHash(secret: string, body: Buffer | string, header: string | undefined): void {
  if (!header) throw new SignatureError('errorHmacDoesNotMatch', 'x-payload-hash header is missing');
  if (!safeEqual(header.trim(), payloadHash(secret, body))) {
    throw new SignatureError('errorHmacDoesNotMatch', 'x-payload-hash does not match the request body');
  }
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `prefix` and `bytes` random bytes, base64url: API keys and HMAC secrets handed out once. */
export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** `bytes` random bytes, base64: a key nobody types (the client-token key). */
export function randomKey(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

/** Constant-time equality of two strings (false for different lengths, without leaking where they differ). */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

import { BadUserInputError } from '../lib/errors.js';

/**
 * `depositStatusChanged` cursors: the outbox sequence of a change, opaque to clients. One
 * order across everything, so deposit, user and tenant streams all resume from one.
 */
export function encodeStatusCursor(seq: string): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeStatusCursor(cursor: string): bigint {
  const m = /^seq:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new BadUserInputError('after', 'is not a cursor returned by depositStatusChanged');
  return BigInt(m[1]);
}

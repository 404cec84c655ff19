import { randomUUID } from 'node:crypto';
import { payloadHash } from '../../src/lib/signatures/payload-hash.js';
import { signStandardWebhook } from '../../src/lib/signatures/standard-webhooks.js';

/** The headers a Standard Webhooks provider sends with `body` (a fresh `webhook-id` and the current time by default). */
export function signedHeaders(
  secret: string,
  body: string | Buffer,
  opts: { id?: string; timestamp?: number } = {},
): Record<string, string> {
  const id = opts.id ?? `msg_${randomUUID()}`;
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook(secret, id, timestamp, body),
  };
}

/** The headers instap sends with `body`: its `x-payload-hash` under `secret`. */
export function instapHeaders(secret: string, body: string | Buffer): Record<string, string> {
  return { 'content-type': 'application/json', 'x-payload-hash': payloadHash(secret, body) };
}

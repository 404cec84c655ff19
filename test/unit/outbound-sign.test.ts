import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signedHeaders, signWebhook } from '../../src/lib/outbound/sign.js';

// The published Standard Webhooks test vector.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const body = JSON.stringify({
  type: 'deposit.status_changed',
  timestamp: '2026-11-26T10:00:00.000Z',
  data: { cursor: 'c_1', status: 'COMPLETED', previousStatus: 'SCREENING', deposit: { id: 'd_1', amount: '25' } },
});

describe('signWebhook', () => {
  it('signs the published test vector to its published signature', () => {
    const { secret, id, timestamp, body: vectorBody, signature } = VECTOR;
    expect(signWebhook(secret, id, timestamp, vectorBody)).toBe(signature);
    expect(signWebhook(secret, id, new Date(timestamp * 1000 + 999), Buffer.from(vectorBody))).toBe(signature);
  });

  it('agrees with the standardwebhooks package for any id, time, body and key', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        (key, id, timestamp, text) => {
          const secret = `whsec_${Buffer.from(key).toString('base64')}`;
          const theirs = new Webhook(secret).sign(id, new Date(timestamp * 1000), text);
          expect(signWebhook(secret, id, timestamp, text)).toBe(theirs);
        },
      ),
    );
  });

  it.each([
    ['no prefix', VECTOR.secret.slice('whsec_'.length)],
    ['an empty key', 'whsec_'],
    ['characters outside base64', 'whsec_MfKQ9r8GKYqrTwjU!D8ILPZIo2LaLaSw'],
    ['a truncated key', 'whsec_MfKQ9'],
    ['misplaced padding', 'whsec_Mf=KQ9r8'],
  ])('refuses a secret with %s', (_, secret) => {
    expect(() => signWebhook(secret, 'msg_1', 1, '{}')).toThrow(/whsec_ followed by a base64 key/);
  });

  it('accepts a key without its base64 padding', () => {
    const padded = `whsec_${Buffer.from('0123456789').toString('base64')}`;
    expect(padded.endsWith('==')).toBe(true);
    expect(signWebhook(padded.replace(/=+$/, ''), 'msg_1', 1, '{}')).toBe(signWebhook(padded, 'msg_1', 1, '{}'));
  });

  it.each([
    ['', 'empty'],
    ['msg 1', 'with a space'],
    ['msg\n1', 'with a newline'],
    ['m'.repeat(256), 'too long'],
  ])('refuses the id %j (%s)', (id) => {
    expect(() => signWebhook(VECTOR.secret, id, 1, '{}')).toThrow(TypeError);
  });

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses the timestamp %s', (timestamp) => {
    expect(() => signWebhook(VECTOR.secret, 'msg_1', timestamp, '{}')).toThrow(RangeError);
  });
});

describe('signedHeaders', () => {
  it('produces headers the standardwebhooks package verifies', () => {
    const secret = newSecret();
    const headers = signedHeaders({ id: 'evt_1', timestamp: new Date(), body, secrets: [secret] });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(nowSeconds()));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it('signs once per secret during a rotation, so a merchant holding either secret verifies', () => {
    const [oldSecret, newSecretValue] = [newSecret(), newSecret()];
    const headers = signedHeaders({ id: 'evt_2', timestamp: nowSeconds(), body, secrets: [newSecretValue, oldSecret] });
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(signatures[0]).not.toBe(signatures[1]);

    for (const secret of [oldSecret, newSecretValue]) {
      expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    }
    expect(() => new Webhook(newSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('signs the exact bytes: a verifier given other bytes refuses', () => {
    const secret = newSecret();
    const headers = signedHeaders({ id: 'evt_3', timestamp: nowSeconds(), body: Buffer.from(body), secrets: [secret] });
    expect(new Webhook(secret).verify(Buffer.from(body), { ...headers })).toEqual(JSON.parse(body));
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    expect(() => new Webhook(secret).verify(reformatted, { ...headers })).toThrow('No matching signature found');
  });

  it('signs non-ASCII bodies as UTF-8, as the verifier reads them', () => {
    const secret = newSecret();
    const text = JSON.stringify({ note: 'Zahlung über 25 € — 支付 ✓' });
    const headers = signedHeaders({ id: 'evt_4', timestamp: nowSeconds(), body: text, secrets: [secret] });
    expect(new Webhook(secret).verify(Buffer.from(text, 'utf8'), { ...headers })).toEqual(JSON.parse(text));
  });

  it('carries the attempt time, so a stale attempt is refused by the verifier and a fresh one of the same event is not', () => {
    const secret = newSecret();
    const stale = signedHeaders({ id: 'evt_5', timestamp: nowSeconds() - 3600, body, secrets: [secret] });
    expect(() => new Webhook(secret).verify(body, { ...stale })).toThrow('Message timestamp too old');
    const retry = signedHeaders({ id: 'evt_5', timestamp: nowSeconds(), body, secrets: [secret] });
    expect(retry['webhook-id']).toBe(stale['webhook-id']);
    expect(new Webhook(secret).verify(body, { ...retry })).toEqual(JSON.parse(body));
  });

  it('refuses to sign with no secret', () => {
    expect(() => signedHeaders({ id: 'evt_6', timestamp: 1, body, secrets: [] })).toThrow(/at least one secret/);
  });
});

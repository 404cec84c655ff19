import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SignatureError, type SignatureErrorCode } from '../../src/lib/errors.js';
import { payloadHash, verifyPayloadHash } from '../../src/lib/signatures/payload-hash.js';
import {
  generateWhsecSecret,
  signStandardWebhook,
  verifyStandardWebhook,
} from '../../src/lib/signatures/standard-webhooks.js';
import { signedHeaders } from '../utils/signing.js';

// The published Standard Webhooks test vector.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const AT = new Date(TIMESTAMP * 1000);

const vectorHeaders = (): Record<string, string | undefined> => ({
  'webhook-id': ID,
  'webhook-timestamp': String(TIMESTAMP),
  'webhook-signature': SIGNATURE,
});

function failure(run: () => void): SignatureErrorCode | undefined {
  try {
    run();
  } catch (err) {
    if (err instanceof SignatureError) return err.code;
    throw err;
  }
  return undefined;
}

const verifyVector = (headers: Record<string, string | undefined>, body = BODY, now = AT, secret = SECRET) =>
  failure(() => verifyStandardWebhook(secret, Buffer.from(body), headers, now));

describe('Standard Webhooks', () => {
  it('signs the published test vector to its published signature', () => {
    expect(signStandardWebhook(SECRET, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
    expect(signStandardWebhook(SECRET, ID, TIMESTAMP, Buffer.from(BODY))).toBe(SIGNATURE);
  });

  it('verifies the published test vector', () => {
    expect(verifyVector(vectorHeaders())).toBeUndefined();
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('refuses a delivery without %s', (name) => {
    expect(verifyVector({ ...vectorHeaders(), [name]: undefined })).toBe('MISSING_SIGNATURE_HEADERS');
  });

  it('treats an empty header as missing', () => {
    expect(verifyVector({ ...vectorHeaders(), 'webhook-signature': '' })).toBe('MISSING_SIGNATURE_HEADERS');
  });

  it.each(['abc', '1614265330.5', '-1614265330', '1e9', ' 1614265330'])(
    'refuses a timestamp that is not unix seconds (%j)',
    (timestamp) => {
      expect(verifyVector({ ...vectorHeaders(), 'webhook-timestamp': timestamp })).toBe('INVALID_TIMESTAMP');
    },
  );

  it('refuses a delivery signed more than five minutes ago', () => {
    expect(verifyVector(vectorHeaders(), BODY, new Date((TIMESTAMP + 301) * 1000))).toBe('TIMESTAMP_OUT_OF_RANGE');
  });

  it('refuses a delivery dated more than five minutes ahead', () => {
    expect(verifyVector(vectorHeaders(), BODY, new Date((TIMESTAMP - 301) * 1000))).toBe('TIMESTAMP_OUT_OF_RANGE');
  });

  it('accepts a delivery exactly five minutes off either way', () => {
    expect(verifyVector(vectorHeaders(), BODY, new Date((TIMESTAMP + 300) * 1000))).toBeUndefined();
    expect(verifyVector(vectorHeaders(), BODY, new Date((TIMESTAMP - 300) * 1000))).toBeUndefined();
  });

  it('refuses a wrong signature', () => {
    const headers = { ...vectorHeaders(), 'webhook-signature': 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=' };
    expect(verifyVector(headers)).toBe('INVALID_SIGNATURE');
  });

  it('refuses a signature of another length without throwing from the comparison', () => {
    expect(verifyVector({ ...vectorHeaders(), 'webhook-signature': 'v1,c2hvcnQ=' })).toBe('INVALID_SIGNATURE');
  });

  it('refuses a body signed with another secret', () => {
    expect(verifyVector(vectorHeaders(), BODY, AT, generateWhsecSecret())).toBe('INVALID_SIGNATURE');
  });

  it('refuses a tampered body', () => {
    expect(verifyVector(vectorHeaders(), '{"test": 2432232315}')).toBe('INVALID_SIGNATURE');
  });

  it('refuses a signature made for another webhook-id or timestamp', () => {
    expect(verifyVector({ ...vectorHeaders(), 'webhook-id': 'msg_other' })).toBe('INVALID_SIGNATURE');
    const later = TIMESTAMP + 1;
    expect(verifyVector({ ...vectorHeaders(), 'webhook-timestamp': String(later) })).toBe('INVALID_SIGNATURE');
  });

  it('accepts several signatures when one of them matches', () => {
    const headers = {
      ...vectorHeaders(),
      'webhook-signature': `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${SIGNATURE} v1,bm9wZQ==`,
    };
    expect(verifyVector(headers)).toBeUndefined();
  });

  it('ignores entries that are not v1, even when their value is the right signature', () => {
    const value = SIGNATURE.slice(3);
    expect(verifyVector({ ...vectorHeaders(), 'webhook-signature': `v2,${value} v1a,${value} ${value}` })).toBe(
      'INVALID_SIGNATURE',
    );
    expect(verifyVector({ ...vectorHeaders(), 'webhook-signature': `v1a,${value} ${SIGNATURE}` })).toBeUndefined();
  });

  it('verifies over the raw bytes, even when they are not valid UTF-8', () => {
    const secret = generateWhsecSecret();
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_bytes',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook(secret, 'msg_bytes', timestamp, body),
    };
    expect(failure(() => verifyStandardWebhook(secret, body, headers, new Date()))).toBeUndefined();
  });

  it('generates whsec secrets that sign and verify', () => {
    const secret = generateWhsecSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(generateWhsecSecret()).not.toBe(secret);
    const body = '{"ok":true}';
    const headers = signedHeaders(secret, body);
    expect(failure(() => verifyStandardWebhook(secret, Buffer.from(body), headers, new Date()))).toBeUndefined();
  });
});

describe('instap x-payload-hash', () => {
  const secret = 'instap-hmac-secret';
  const body = '{"sessionToken":"OPN-1","sessionState":"COMPLETED","paidAmount":25.5}';
  // Computed the way instap's own sample does (deposit-tracking-session.txt).
  const expected = createHmac('sha512', secret).update(body).digest('base64');
  const codeOf = (run: () => void) => failure(run);

  it('is the base64 HMAC-SHA512 of the body under the raw secret', () => {
    expect(payloadHash(secret, body)).toBe(expected);
    expect(payloadHash(secret, Buffer.from(body))).toBe(expected);
  });

  it('accepts a matching hash', () => {
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), expected))).toBeUndefined();
  });

  it('refuses a hash of another body', () => {
    const other = payloadHash(secret, body.replace('25.5', '25.6'));
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), other))).toBe('errorHmacDoesNotMatch');
  });

  it('refuses a hash made with another secret', () => {
    const other = payloadHash('another-secret', body);
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), other))).toBe('errorHmacDoesNotMatch');
  });

  it('refuses a hash of another length', () => {
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), 'c2hvcnQ='))).toBe('errorHmacDoesNotMatch');
  });

  it('refuses a request without the header', () => {
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), undefined))).toBe('errorHmacDoesNotMatch');
    expect(codeOf(() => verifyPayloadHash(secret, Buffer.from(body), ''))).toBe('errorHmacDoesNotMatch');
  });
});

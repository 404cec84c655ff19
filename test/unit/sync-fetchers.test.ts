import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepositStatus } from '../../src/domain/deposit-status.js';
import { ProviderUnavailableError } from '../../src/lib/errors.js';
import { finrax } from '../../src/providers/finrax.provider.js';
import { instap } from '../../src/providers/instap.provider.js';
import type { RecordedPayment, StatusSources } from '../../src/providers/provider.js';
import { createProviderRegistry } from '../../src/providers/registry.js';
import { sandbox } from '../../src/providers/sandbox.provider.js';
import { fixtureFor, loadFixture } from '../fixtures/index.js';
import { startFakeProviderApi, type FakeProviderApi } from '../utils/fake-provider-api.js';

/**
 * Each provider's status fetcher against a local fake of its API (real HTTP on 127.0.0.1):
 * the request it sends, how its answers map to our event type, and every way asking can fail.
 */

const ID = '3f2c1a9e-7b64-4d2e-9c1a-5e8f0b7d6a42';
const noSources: StatusSources = { recordedPayment: async () => undefined };
const signal = () => AbortSignal.timeout(300);

describe('status fetchers', () => {
  let api: FakeProviderApi;
  beforeAll(async () => {
    api = await startFakeProviderApi();
  });
  afterAll(async () => {
    await api.close();
  });

  const instapFetcher = () => instap.fetchStatus!({ apiUrl: api.url, apiKey: 'ik', hmacSecret: 'hs' }, noSources);
  const finraxFetcher = () => finrax.fetchStatus!({ apiUrl: api.url, apiKey: 'fk' }, noSources);

  describe('instap GET /pgpub/session/{sessionToken}', () => {
    it('maps COMPLETED with its amount (a JSON number, digit for digit) to a payment', async () => {
      api.answers.set('s1', {
        body: '{"sessionState":"COMPLETED","checkOutUrl":"https://x","paidAmount":0.123456789012345678,"paidCurrency":"usd"}',
      });
      const a = await instapFetcher().fetch({ id: ID, providerRef: 's1' }, signal());
      expect(a).toMatchObject({
        kind: 'event',
        event: {
          kind: 'deposit',
          effect: 'payment',
          status: DepositStatus.COMPLETED,
          providerStatus: 'COMPLETED',
          amount: '0.123456789012345678',
          currency: 'USD',
          ref: { by: 'providerRef', providerRef: 's1' },
        },
      });
      const req = api.statusRequests('s1')[0];
      expect(req.headers['x-api-key']).toBe('ik');
      expect(req.headers['content-type']).toBe('application/json');
    });

    it.each([
      ['no amount at all', { sessionState: 'COMPLETED', checkOutUrl: 'https://x' }],
      ['an amount without its currency', { sessionState: 'COMPLETED', paidAmount: '5' }],
      ['nulls', { sessionState: 'COMPLETED', paidAmount: null, paidCurrency: null }],
    ])('maps COMPLETED with %s to a completion nobody reported an amount for', async (_l, body) => {
      api.answers.set('s2', { body });
      const a = await instapFetcher().fetch({ id: ID, providerRef: 's2' }, signal());
      expect(a).toMatchObject({ kind: 'event', event: { effect: 'paid-unreported', status: DepositStatus.CONFIRMED } });
      expect(a.kind === 'event' && 'amount' in a.event).toBe(false);
    });

    it.each([
      ['NEW', { effect: 'record', status: DepositStatus.PENDING }],
      ['EXPIRED', { effect: 'expire', status: DepositStatus.EXPIRED }],
      ['FAILED', { effect: 'fail', status: DepositStatus.FAILED }],
    ])('maps %s like its webhook', async (state, mapped) => {
      api.answers.set('s3', { body: { sessionState: state, checkOutUrl: 'https://x' } });
      const a = await instapFetcher().fetch({ id: ID, providerRef: 's3' }, signal());
      expect(a).toMatchObject({ kind: 'event', event: { kind: 'deposit', ...mapped, providerStatus: state } });
    });

    it('keeps a state it does not know as unsupported', async () => {
      api.answers.set('s4', { body: { sessionState: 'REFUNDING' } });
      const a = await instapFetcher().fetch({ id: ID, providerRef: 's4' }, signal());
      expect(a).toMatchObject({ kind: 'event', event: { kind: 'unsupported', providerStatus: 'REFUNDING' } });
    });

    it('says not-found for a 404, and for a deposit without a session token (nothing asked)', async () => {
      const before = api.requests.length;
      expect(await instapFetcher().fetch({ id: ID, providerRef: null }, signal())).toEqual({ kind: 'not-found' });
      expect(api.requests.length).toBe(before);
      expect(await instapFetcher().fetch({ id: ID, providerRef: 'unknown' }, signal())).toEqual({ kind: 'not-found' });
    });

    it('escapes the token in the path', async () => {
      await instapFetcher().fetch({ id: ID, providerRef: '../../admin?x=1' }, signal());
      expect(api.requests.at(-1)!.path).toBe('/pgpub/session/..%2F..%2Fadmin%3Fx%3D1');
    });

    it.each([
      ['a 500', { status: 500 }],
      ['a 302 (never followed)', { redirectTo: 'http://127.0.0.1:1/steal' }],
      ['no answer in time', { delayMs: 1000, body: { sessionState: 'NEW' } }],
      ['HTML', { body: '<html>' }],
      ['a zero amount', { body: { sessionState: 'COMPLETED', paidAmount: 0, paidCurrency: 'USD' } }],
      [
        'an amount too large to store',
        { body: { sessionState: 'COMPLETED', paidAmount: '1e40', paidCurrency: 'USD' } },
      ],
      ['no state', { body: { checkOutUrl: 'https://x' } }],
    ])('throws ProviderUnavailableError for %s', async (_l, answer) => {
      api.answers.set('bad', answer);
      await expect(instapFetcher().fetch({ id: ID, providerRef: 'bad' }, signal())).rejects.toBeInstanceOf(
        ProviderUnavailableError,
      );
    });
  });

  describe('finrax GET /payments/{paymentId}', () => {
    it('maps CONFIRMED (the notification fields) to a payment with both readings of the money', async () => {
      api.answers.set('p1', { body: fixtureFor('finrax/confirmed.json', ID) });
      const a = await finraxFetcher().fetch({ id: ID, providerRef: 'p1' }, signal());
      expect(a).toMatchObject({
        kind: 'event',
        event: {
          effect: 'payment',
          status: DepositStatus.COMPLETED,
          amount: '250',
          currency: 'EUR',
          alternative: { amount: '0.123456789012345678', currency: 'ETH' },
          paidAt: new Date(1717620062 * 1000),
        },
      });
      expect(api.statusRequests('p1')[0].headers['x-api-key']).toBe('fk');
    });

    it('maps UNCONFIRMED to CONFIRMING', async () => {
      api.answers.set('p2', { body: fixtureFor('finrax/unconfirmed.json', ID) });
      const a = await finraxFetcher().fetch({ id: ID, providerRef: 'p2' }, signal());
      expect(a).toMatchObject({ kind: 'event', event: { effect: 'progress', status: DepositStatus.CONFIRMING } });
    });

    it.each([
      ['PENDING', { effect: 'record', status: DepositStatus.PENDING }],
      ['EXPIRED', { effect: 'expire', status: DepositStatus.EXPIRED }],
    ])('maps %s (no money yet) by its status alone', async (status, mapped) => {
      api.answers.set('p3', { body: { status, clientPaymentId: ID } });
      const a = await finraxFetcher().fetch({ id: ID, providerRef: 'p3' }, signal());
      expect(a).toMatchObject({ kind: 'event', event: { ...mapped, ref: { by: 'id', depositId: ID } } });
    });

    it('says not-found for a 404', async () => {
      expect(await finraxFetcher().fetch({ id: ID, providerRef: 'nope' }, signal())).toEqual({ kind: 'not-found' });
    });

    it('refuses an answer about another payment', async () => {
      api.answers.set('p4', {
        body: loadFixture('finrax/confirmed.json').replace(ID, '11111111-2222-4333-8444-555555555555'),
      });
      await expect(finraxFetcher().fetch({ id: ID, providerRef: 'p4' }, signal())).rejects.toBeInstanceOf(
        ProviderUnavailableError,
      );
    });

    it('refuses CONFIRMED without its amounts', async () => {
      api.answers.set('p5', { body: { status: 'CONFIRMED', clientPaymentId: ID } });
      await expect(finraxFetcher().fetch({ id: ID, providerRef: 'p5' }, signal())).rejects.toBeInstanceOf(
        ProviderUnavailableError,
      );
    });
  });

  describe('sandbox (its own books)', () => {
    const books = (p?: RecordedPayment): StatusSources => ({ recordedPayment: async () => p });

    it('maps a recorded PAID to a payment at the time it was paid', async () => {
      const paidAt = new Date('2026-11-26T10:00:00Z');
      const f = sandbox.fetchStatus!(undefined, books({ status: 'PAID', amount: '25', currency: 'USD', paidAt }));
      expect(await f.fetch({ id: ID, providerRef: null }, signal())).toMatchObject({
        kind: 'event',
        event: { effect: 'payment', status: DepositStatus.COMPLETED, amount: '25', currency: 'USD', paidAt },
      });
    });

    it('maps a recorded FAILED to a failure, and nothing recorded to nothing new', async () => {
      const failed = sandbox.fetchStatus!(
        undefined,
        books({ status: 'FAILED', amount: null, currency: null, paidAt: new Date() }),
      );
      expect(await failed.fetch({ id: ID, providerRef: null }, signal())).toMatchObject({
        kind: 'event',
        event: { effect: 'fail', status: DepositStatus.FAILED },
      });
      const none = sandbox.fetchStatus!(undefined, books());
      expect(await none.fetch({ id: ID, providerRef: null }, signal())).toEqual({ kind: 'nothing-new' });
    });
  });

  describe('the registry', () => {
    it('has a fetcher for sandbox, instap and finrax only, and says what to set when an API is not configured', () => {
      const r = createProviderRegistry({
        secrets: {},
        publicUrl: 'http://x',
        finrax: { apiUrl: api.url, apiKey: 'k' },
      });
      expect(r.statusFetcher('layer1', noSources)).toBeUndefined();
      expect(r.statusFetcher('depasify', noSources)).toBeUndefined();
      expect(r.statusFetcher('nope', noSources)).toBeUndefined();
      expect(r.statusFetcher('instap', noSources)).toEqual({
        missing: 'INSTAP_API_URL, INSTAP_API_KEY, INSTAP_HMAC_SECRET',
      });
      expect(['sandbox', 'instap', 'finrax', 'layer1', 'depasify'].map((p) => r.syncable(p))).toEqual([
        true,
        false,
        true,
        false,
        false,
      ]);
    });

    it('has no sandbox fetcher under production', () => {
      const r = createProviderRegistry({ secrets: {}, publicUrl: 'http://x', production: true });
      expect(r.statusFetcher('sandbox', noSources)).toBeUndefined();
      expect(r.syncable('sandbox')).toBe(false);
    });
  });
});

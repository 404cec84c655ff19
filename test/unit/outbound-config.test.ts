import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../src/lib/outbound/retry-schedule.js';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u@db:5432/gw',
  REDIS_URL: 'redis://redis:6379',
  WEBHOOK_SECRET_LAYER1: 'whsec_bGF5ZXIxLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5',
  DEFAULT_PROVIDER: 'layer1',
};

describe('merchant webhook configuration', () => {
  it('allows private endpoint addresses outside production only, unless OUTBOUND_ALLOW_PRIVATE_URLS says otherwise', () => {
    expect(loadConfig({}).outbound.allowPrivateUrls).toBe(true);
    expect(loadConfig(production).outbound.allowPrivateUrls).toBe(false);
    expect(loadConfig({ OUTBOUND_ALLOW_PRIVATE_URLS: 'false' }).outbound.allowPrivateUrls).toBe(false);
    expect(loadConfig({ ...production, OUTBOUND_ALLOW_PRIVATE_URLS: 'true' }).outbound.allowPrivateUrls).toBe(true);
    expect(() => loadConfig({ OUTBOUND_ALLOW_PRIVATE_URLS: 'yes' })).toThrow(
      new ConfigError('OUTBOUND_ALLOW_PRIVATE_URLS: must be true or false'),
    );
  });

  it("uses the contract's retry schedule unless WEBHOOK_RETRY_SCHEDULE replaces it, and names a bad entry", () => {
    expect(loadConfig({}).outbound.retrySchedule).toEqual(DEFAULT_RETRY_SCHEDULE);
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '1, 2.5,3' }).outbound.retrySchedule).toEqual([1, 2.5, 3]);
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: '5,soon' })).toThrow(
      /^WEBHOOK_RETRY_SCHEDULE: entry 2 is "soon"/,
    );
  });

  it('bounds the attempt timeout by the contract’s 15 seconds and the concurrency by positive numbers', () => {
    expect(loadConfig({}).outbound).toMatchObject({ timeoutMs: 15_000, maxInFlight: 64, maxInFlightPerEndpoint: 8 });
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '20000' })).toThrow(/^WEBHOOK_TIMEOUT_MS: must be at most 15000/);
    expect(() => loadConfig({ WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '0' })).toThrow(
      /^WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: /,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_API_KEY, loadConfig } from '../../src/config.js';

const WHSEC = 'whsec_c2FuZGJveC10ZXN0LXNlY3JldC1rZXktMDEyMzQ1Njc=';
const PRODUCTION_BASE = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://gw@db.internal:5432/gateway',
  REDIS_URL: 'redis://cache.internal:6379',
};

/** The ConfigError `loadConfig(env)` throws; fails the test when it does not throw one. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      // Development keys are well known: outside production only this machine can reach it.
      host: '127.0.0.1',
      port: 4000,
      webhookPort: 4100,
      logLevel: 'info',
      databaseUrl: undefined,
      redisUrl: undefined,
      redisKeyPrefix: 'dgw:',
      publicUrl: 'http://localhost:4000',
      webhookUrl: 'http://127.0.0.1:4100',
      bootstrapApiKey: DEV_API_KEY,
      depositTtlSeconds: 3600,
      idempotencyTtlHours: 24,
      providerTimeoutMs: 6000,
      instap: undefined,
      finrax: undefined,
      sandboxEnabled: true,
      defaultProvider: 'sandbox',
    });
    expect(c.webhookSecrets).toEqual({
      sandbox: undefined,
      layer1: undefined,
      depasify: undefined,
      finrax: undefined,
      instap: undefined,
    });
  });

  it('derives the default public and webhook URLs from the ports', () => {
    const c = loadConfig({ PORT: '5000', WEBHOOK_PORT: '5100' });
    expect(c.publicUrl).toBe('http://localhost:5000');
    expect(c.webhookUrl).toBe('http://127.0.0.1:5100');
  });

  it('strips trailing slashes from base URLs', () => {
    const c = loadConfig({ PUBLIC_URL: 'https://pay.example.com/', WEBHOOK_URL: 'https://hooks.example.com//' });
    expect(c.publicUrl).toBe('https://pay.example.com');
    expect(c.webhookUrl).toBe('https://hooks.example.com');
  });

  it('reads the values it is given', () => {
    const c = loadConfig({
      PORT: '0',
      DATABASE_URL: 'postgresql://u@h/db',
      REDIS_URL: 'rediss://h:6380',
      DEPOSIT_TTL_SECONDS: '60',
      IDEMPOTENCY_TTL_HOURS: '48',
      BOOTSTRAP_API_KEY: 'a-long-enough-bootstrap-key',
      WEBHOOK_SECRET_LAYER1: WHSEC,
      WEBHOOK_SECRET_INSTAP: 'raw instap key',
    });
    expect(c).toMatchObject({
      port: 0,
      databaseUrl: 'postgresql://u@h/db',
      redisUrl: 'rediss://h:6380',
      depositTtlSeconds: 60,
      idempotencyTtlHours: 48,
      bootstrapApiKey: 'a-long-enough-bootstrap-key',
    });
    expect(c.webhookSecrets).toMatchObject({ layer1: WHSEC, instap: 'raw instap key' });
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', WEBHOOK_SECRET_LAYER1: '', DATABASE_URL: '', INSTAP_API_KEY: '' });
    expect(c.port).toBe(4000);
    expect(c.webhookSecrets.layer1).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
  });

  it('is a pure function of the environment it is given', () => {
    expect(loadConfig({ PORT: '4321' }).port).toBe(4321);
    expect(loadConfig({}).port).toBe(4000);
  });

  describe('refuses a bad value with a one-line ConfigError starting with the variable name', () => {
    it.each([
      ['PORT', 'abc'],
      ['PORT', '70000'],
      ['PORT', '-1'],
      ['PORT', '80.5'],
      ['PORT', ' '],
      ['PORT', '1e3'],
      ['WEBHOOK_PORT', 'http'],
      ['WEBHOOK_SECRET_LAYER1', 'not-a-whsec'],
      ['WEBHOOK_SECRET_SANDBOX', 'whsec_'],
      ['WEBHOOK_SECRET_FINRAX', 'whsec_not base64!'],
      ['DATABASE_URL', 'not a url'],
      ['DATABASE_URL', 'mysql://u@h/db'],
      ['REDIS_URL', 'http://cache:6379'],
      ['PUBLIC_URL', 'localhost:4000'],
      ['WEBHOOK_URL', 'ftp://hooks.example.com'],
      ['INSTAP_API_URL', 'localhost:9000'],
      ['FINRAX_API_URL', 'not a url'],
      ['NODE_ENV', 'staging'],
      ['LOG_LEVEL', 'verbose'],
      ['DEPOSIT_TTL_SECONDS', '0'],
      ['IDEMPOTENCY_TTL_HOURS', '23'],
      ['BOOTSTRAP_API_KEY', 'short'],
      ['REDIS_KEY_PREFIX', 'has spaces'],
      ['DEFAULT_PROVIDER', 'paypal'],
      ['HOST', ' '],
      ['STATUS_TRACE', 'yes'],
    ])('%s=%j', (variable, value) => {
      const err = configError({ [variable]: value });
      expect(err.message.startsWith(`${variable}: `)).toBe(true);
      expect(err.message).not.toContain('\n');
      expect(err.name).toBe('ConfigError');
    });

    it('without repeating a secret it was given', () => {
      const err = configError({ WEBHOOK_SECRET_DEPASIFY: 'my-very-private-secret' });
      expect(err.message).toMatch(/^WEBHOOK_SECRET_DEPASIFY: /);
      expect(err.message).not.toContain('my-very-private-secret');
      const key = configError({ BOOTSTRAP_API_KEY: 'tiny-key' });
      expect(key.message).not.toContain('tiny-key');
    });
  });

  describe('under NODE_ENV=production', () => {
    it('requires DATABASE_URL and REDIS_URL, naming both when both are missing', () => {
      const err = configError({ NODE_ENV: 'production' });
      expect(err.message).toMatch(/^DATABASE_URL, REDIS_URL: /);
      expect(err.message).not.toContain('\n');
    });

    it('names only the one that is missing', () => {
      expect(configError({ NODE_ENV: 'production', DATABASE_URL: PRODUCTION_BASE.DATABASE_URL }).message).toMatch(
        /^REDIS_URL: /,
      );
      expect(configError({ NODE_ENV: 'production', REDIS_URL: PRODUCTION_BASE.REDIS_URL }).message).toMatch(
        /^DATABASE_URL: /,
      );
    });

    it('starts with both set, and gives no development API key', () => {
      const c = loadConfig(PRODUCTION_BASE);
      expect(c.isProduction).toBe(true);
      expect(c.bootstrapApiKey).toBeUndefined();
    });

    it('listens on every interface unless HOST says otherwise', () => {
      expect(loadConfig(PRODUCTION_BASE).host).toBe('0.0.0.0');
      expect(loadConfig({ ...PRODUCTION_BASE, HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
      expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    });

    it('has no sandbox: WEBHOOK_SECRET_SANDBOX stops the process with one line naming it, without the secret', () => {
      const err = configError({ ...PRODUCTION_BASE, WEBHOOK_SECRET_SANDBOX: WHSEC });
      expect(err.message).toMatch(/^WEBHOOK_SECRET_SANDBOX: .*production/);
      expect(err.message).not.toContain('\n');
      expect(err.message).not.toContain(WHSEC.slice('whsec_'.length));
      const c = loadConfig(PRODUCTION_BASE);
      expect(c.sandboxEnabled).toBe(false);
      expect(c.webhookSecrets.sandbox).toBeUndefined();
    });

    it('has no default provider unless DEFAULT_PROVIDER names a configured one', () => {
      expect(loadConfig(PRODUCTION_BASE).defaultProvider).toBeUndefined();
      const layer1 = loadConfig({ ...PRODUCTION_BASE, DEFAULT_PROVIDER: 'layer1', WEBHOOK_SECRET_LAYER1: WHSEC });
      expect(layer1.defaultProvider).toBe('layer1');
      expect(configError({ ...PRODUCTION_BASE, DEFAULT_PROVIDER: 'sandbox' }).message).toMatch(
        /^DEFAULT_PROVIDER: .*production/,
      );
    });
  });

  describe('DEFAULT_PROVIDER', () => {
    it('is sandbox outside production, or the configured provider it names', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).defaultProvider).toBe('sandbox');
      expect(loadConfig({ DEFAULT_PROVIDER: 'depasify', WEBHOOK_SECRET_DEPASIFY: WHSEC }).defaultProvider).toBe(
        'depasify',
      );
      const finrax = { FINRAX_API_URL: 'https://finrax.example', FINRAX_API_KEY: 'fx' };
      expect(loadConfig({ DEFAULT_PROVIDER: 'finrax', ...finrax }).defaultProvider).toBe('finrax');
    });

    it.each([
      ['layer1', {}, 'WEBHOOK_SECRET_LAYER1'],
      ['depasify', { WEBHOOK_SECRET_LAYER1: WHSEC }, 'WEBHOOK_SECRET_DEPASIFY'],
      ['instap', { WEBHOOK_SECRET_INSTAP: 'raw', INSTAP_API_KEY: 'k' }, 'INSTAP_API_URL'],
      ['finrax', { WEBHOOK_SECRET_FINRAX: WHSEC, FINRAX_API_KEY: 'fx' }, 'FINRAX_API_URL'],
    ])('refuses %s when createDeposit could not use it, naming what to set', (provider, env, needed) => {
      const err = configError({ DEFAULT_PROVIDER: provider, ...env });
      expect(err.message).toMatch(/^DEFAULT_PROVIDER: /);
      expect(err.message).toContain(needed);
      expect(err.message).not.toContain('\n');
    });
  });

  describe('provider API settings', () => {
    const instap = {
      INSTAP_API_URL: 'https://api.instap.example/',
      INSTAP_API_KEY: 'instap-key',
      INSTAP_HMAC_SECRET: 'instap-hmac',
    };

    it('configures instap when all three INSTAP_* are present', () => {
      expect(loadConfig(instap).instap).toEqual({
        apiUrl: 'https://api.instap.example',
        apiKey: 'instap-key',
        hmacSecret: 'instap-hmac',
      });
    });

    it.each(Object.keys(instap))('leaves instap unconfigured when %s is missing', (missing) => {
      const env: Record<string, string> = { ...instap };
      delete env[missing];
      expect(loadConfig(env).instap).toBeUndefined();
      expect(loadConfig({ ...instap, [missing]: '' }).instap).toBeUndefined();
    });

    it('configures finrax only when both FINRAX_* are present', () => {
      const finrax = { FINRAX_API_URL: 'https://finrax.example', FINRAX_API_KEY: 'fx' };
      expect(loadConfig(finrax).finrax).toEqual({ apiUrl: 'https://finrax.example', apiKey: 'fx' });
      expect(loadConfig({ FINRAX_API_URL: finrax.FINRAX_API_URL }).finrax).toBeUndefined();
      expect(loadConfig({ FINRAX_API_KEY: finrax.FINRAX_API_KEY }).finrax).toBeUndefined();
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_API_KEY, DEV_OPERATOR_KEY, loadConfig } from '../../src/config.js';
import { ApiKeyRole } from '../../src/domain/api-key-role.js';
import { BadUserInputError } from '../../src/lib/errors.js';
import { isOperator, requireOperator } from '../../src/resolvers/authorization.js';
import type { GraphQLContext, Principal } from '../../src/resolvers/context.js';
import { normalizeLabel } from '../../src/services/api-keys.service.js';

const PROD = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r' };

describe('BOOTSTRAP_OPERATOR_KEY', () => {
  it('defaults to the development key outside production, and to none under production', () => {
    expect(loadConfig({}).bootstrapOperatorKey).toBe(DEV_OPERATOR_KEY);
    expect(loadConfig({ NODE_ENV: 'test' }).bootstrapOperatorKey).toBe(DEV_OPERATOR_KEY);
    expect(loadConfig(PROD).bootstrapOperatorKey).toBeUndefined();
    expect(loadConfig({ ...PROD, BOOTSTRAP_OPERATOR_KEY: 'a_real_operator_key_123' }).bootstrapOperatorKey).toBe(
      'a_real_operator_key_123',
    );
  });

  it('refuses a short key, and the same key as BOOTSTRAP_API_KEY (one key, one role), naming the variable', () => {
    expect(() => loadConfig({ BOOTSTRAP_OPERATOR_KEY: 'short' })).toThrow(/^BOOTSTRAP_OPERATOR_KEY: /);
    const same = 'the_same_key_for_both_0123';
    expect(() => loadConfig({ BOOTSTRAP_API_KEY: same, BOOTSTRAP_OPERATOR_KEY: same })).toThrow(ConfigError);
    expect(() => loadConfig({ BOOTSTRAP_API_KEY: same, BOOTSTRAP_OPERATOR_KEY: same })).toThrow(
      /^BOOTSTRAP_OPERATOR_KEY: must differ/,
    );
    expect(DEV_OPERATOR_KEY).not.toBe(DEV_API_KEY);
  });
});

describe('normalizeLabel', () => {
  it('trims, and counts characters (code points), not UTF-16 units', () => {
    expect(normalizeLabel('  ops team  ')).toBe('ops team');
    expect(normalizeLabel('x'.repeat(100))).toHaveLength(100);
    expect(normalizeLabel('😀'.repeat(100))).toBe('😀'.repeat(100));
  });

  it.each([
    ['', 'must not be empty'],
    [' \t ', 'must not be empty'],
    ['x'.repeat(101), 'at most 100'],
    ['😀'.repeat(101), 'at most 100'],
    ['line\nbreak', 'control characters'],
    ['bell\u0007', 'control characters'],
    ['c1\u009b[31m', 'control characters'],
    ['sep\u2028arator', 'control characters'],
  ])('refuses %j naming label', (label, message) => {
    let thrown: unknown;
    try {
      normalizeLabel(label);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(BadUserInputError);
    expect((thrown as BadUserInputError).field).toBe('label');
    expect((thrown as Error).message).toContain(message);
  });
});

describe('isOperator and requireOperator', () => {
  const tenant = (role: ApiKeyRole): Principal => ({
    kind: 'tenant',
    tenant: { tenantId: 't', name: 'n', hmacSecret: null },
    keyId: 'k',
    role,
    label: 'ops',
  });
  const ctx = (principal: Principal | null) => ({ principal }) as GraphQLContext;

  it('is true only for an OPERATOR key', () => {
    expect(isOperator(ctx(tenant(ApiKeyRole.OPERATOR)))).toBe(true);
    expect(isOperator(ctx(tenant(ApiKeyRole.APP)))).toBe(false);
    expect(isOperator(ctx({ kind: 'client', depositId: 'd', tenantId: 't' }))).toBe(false);
    expect(isOperator(ctx(null))).toBe(false);
  });

  it('returns the operator (label: the actor), else FORBIDDEN, or UNAUTHENTICATED without credentials', () => {
    expect(requireOperator(ctx(tenant(ApiKeyRole.OPERATOR)))).toMatchObject({ keyId: 'k', label: 'ops' });
    expect(() => requireOperator(ctx(tenant(ApiKeyRole.APP)))).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(() => requireOperator(ctx({ kind: 'client', depositId: 'd', tenantId: 't' }))).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
    expect(() => requireOperator(ctx(null))).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
  });
});

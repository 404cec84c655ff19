import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, type CreateDepositInput } from '../generated/graphql.js';
import { startTestApp, type TestApp } from '../utils/harness.js';

describe('createDeposit with an Idempotency-Key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.stop();
  });

  let keySeq = 0;
  const newKey = () => `idem-${Date.now()}-${++keySeq}`;

  const create = (input: CreateDepositInput, key: string, apiKey?: string) =>
    t.gql(CreateDepositDocument, { input }, { headers: { 'idempotency-key': key }, apiKey });

  const depositsOf = async (userId: string) =>
    (await t.sql<{ id: string }>('select id from deposit where user_id = $1', [userId])).map((r) => r.id);

  const pendingCounted = async () => {
    const metric = await t.app.metrics.registry.getSingleMetric('deposits_total')!.get();
    return metric.values.find((v) => v.labels.status === 'PENDING')?.value ?? 0;
  };

  it('returns the same deposit and client token when the same key and input come again', async () => {
    const key = newKey();
    const input = { userId: 'idem-same', currency: 'USD', amount: '25' };
    const first = await create(input, key);
    const second = await create(input, key);
    expect(first.errors).toBeUndefined();
    expect(second.errors).toBeUndefined();
    expect(second.data!.createDeposit.deposit.id).toBe(first.data!.createDeposit.deposit.id);
    expect(second.data!.createDeposit.clientToken).toBe(first.data!.createDeposit.clientToken);
    expect(second.data!.createDeposit.deposit).toEqual(first.data!.createDeposit.deposit);
    expect(await depositsOf('idem-same')).toEqual([first.data!.createDeposit.deposit.id]);
  });

  it('treats the same amount spelled differently as the same input', async () => {
    const key = newKey();
    const first = await create({ userId: 'idem-spelling', currency: 'USD', amount: '25' }, key);
    const second = await create({ userId: 'idem-spelling', currency: 'USD', amount: '25.000' }, key);
    expect(second.errors).toBeUndefined();
    expect(second.data!.createDeposit.deposit.id).toBe(first.data!.createDeposit.deposit.id);
  });

  it('creates exactly one deposit when ten requests with one key arrive at once', async () => {
    const key = newKey();
    const input = { userId: 'idem-concurrent', currency: 'EUR', amount: '10' };
    const countedBefore = await pendingCounted();
    const answers = await Promise.all(Array.from({ length: 10 }, () => create(input, key)));
    for (const a of answers) expect(a.errors).toBeUndefined();
    const ids = new Set(answers.map((a) => a.data!.createDeposit.deposit.id));
    const tokens = new Set(answers.map((a) => a.data!.createDeposit.clientToken));
    expect(ids.size).toBe(1);
    expect(tokens.size).toBe(1);
    expect(await depositsOf('idem-concurrent')).toEqual([...ids]);
    expect(await t.redis.keys(`${t.prefix}intent:*`)).toContain(`${t.prefix}intent:${[...ids][0]}`);
    expect(await pendingCounted()).toBe(countedBefore + 1);
  });

  it('refuses the same key with a different input with IDEMPOTENCY_KEY_REUSED and creates nothing', async () => {
    const key = newKey();
    const first = await create({ userId: 'idem-reused', currency: 'USD', amount: '25' }, key);
    expect(first.errors).toBeUndefined();
    const intentsBefore = await t.redis.keys(`${t.prefix}intent:*`);
    const second = await create({ userId: 'idem-reused', currency: 'USD', amount: '26' }, key);
    expect(second.data ?? null).toBeNull();
    expect(second.errors?.[0].extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const third = await create({ userId: 'idem-reused-other', currency: 'USD', amount: '25' }, key);
    expect(third.errors?.[0].extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await depositsOf('idem-reused')).toEqual([first.data!.createDeposit.deposit.id]);
    expect(await depositsOf('idem-reused-other')).toEqual([]);
    expect((await t.redis.keys(`${t.prefix}intent:*`)).sort()).toEqual(intentsBefore.sort());
  });

  it('creates separate deposits for the same request without a key', async () => {
    const input = { userId: 'idem-none', currency: 'USD', amount: '25' };
    const first = await t.gql(CreateDepositDocument, { input });
    const second = await t.gql(CreateDepositDocument, { input });
    expect(first.data!.createDeposit.deposit.id).not.toBe(second.data!.createDeposit.deposit.id);
    expect(await depositsOf('idem-none')).toHaveLength(2);
  });

  it('keeps keys per tenant: another tenant reusing the key gets its own deposit', async () => {
    const key = newKey();
    const input = { userId: 'idem-tenants', currency: 'USD', amount: '25' };
    const other = await t.app.tenants.create('other');
    const mine = await create(input, key);
    const theirs = await create(input, key, other.apiKey);
    expect(mine.errors).toBeUndefined();
    expect(theirs.errors).toBeUndefined();
    expect(theirs.data!.createDeposit.deposit.id).not.toBe(mine.data!.createDeposit.deposit.id);
    const theirsAgain = await create(input, key, other.apiKey);
    expect(theirsAgain.data!.createDeposit.deposit.id).toBe(theirs.data!.createDeposit.deposit.id);
    const differentInput = await create({ ...input, amount: '99' }, key, other.apiKey);
    expect(differentInput.errors?.[0].extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const rows = await t.sql<{ tenant_id: string }>('select tenant_id from deposit where user_id = $1', [
      'idem-tenants',
    ]);
    expect(rows.map((r) => r.tenant_id).sort()).toEqual([other.tenantId, await defaultTenantId()].sort());
  });

  async function defaultTenantId(): Promise<string> {
    const [row] = await t.sql<{ id: string }>("select id from tenant where name = 'default'");
    return row.id;
  }

  it('keeps a key for at least 24 hours', async () => {
    const key = newKey();
    const before = Date.now();
    const res = await create({ userId: 'idem-ttl', currency: 'USD', amount: '1' }, key);
    expect(res.errors).toBeUndefined();
    const [row] = await t.sql<{ expires_at: Date; deposit_id: string }>(
      'select expires_at, deposit_id from idempotency_key where key = $1',
      [key],
    );
    expect(row.deposit_id).toBe(res.data!.createDeposit.deposit.id);
    expect(row.expires_at.getTime()).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
  });

  it('lets a new request take over a key that has expired, even with a different input', async () => {
    const key = newKey();
    const first = await create({ userId: 'idem-expired', currency: 'USD', amount: '1' }, key);
    await t.sql("update idempotency_key set expires_at = now() - interval '1 minute' where key = $1", [key]);
    const before = Date.now();
    const second = await create({ userId: 'idem-expired', currency: 'USD', amount: '2' }, key);
    expect(second.errors).toBeUndefined();
    const secondId = second.data!.createDeposit.deposit.id;
    expect(secondId).not.toBe(first.data!.createDeposit.deposit.id);
    const [row] = await t.sql<{ expires_at: Date; deposit_id: string }>(
      'select expires_at, deposit_id from idempotency_key where key = $1',
      [key],
    );
    expect(row.deposit_id).toBe(secondId);
    expect(row.expires_at.getTime()).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
    const third = await create({ userId: 'idem-expired', currency: 'USD', amount: '2' }, key);
    expect(third.data!.createDeposit.deposit.id).toBe(secondId);
  });

  it('takes over an expired key with the same input as a new deposit', async () => {
    const key = newKey();
    const input = { userId: 'idem-expired-same', currency: 'USD', amount: '3' };
    const first = await create(input, key);
    await t.sql("update idempotency_key set expires_at = now() - interval '1 second' where key = $1", [key]);
    const second = await create(input, key);
    expect(second.data!.createDeposit.deposit.id).not.toBe(first.data!.createDeposit.deposit.id);
    expect(await depositsOf('idem-expired-same')).toHaveLength(2);
  });

  it('refuses an empty Idempotency-Key header naming it, creating nothing', async () => {
    const res = await create({ userId: 'idem-empty', currency: 'USD', amount: '1' }, '');
    expect(res.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'Idempotency-Key' });
    expect(await depositsOf('idem-empty')).toEqual([]);
  });
});

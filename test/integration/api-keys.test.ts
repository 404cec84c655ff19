import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEV_OPERATOR_KEY } from '../../src/config.js';
import { createOrm, poolOf } from '../../src/db/orm.js';
import { SOCKET_KEY_CHECK_MS } from '../../src/gateway/key-watch.js';
import { KEY_CACHE_TTL_MS } from '../../src/services/tenants.service.js';
import {
  ApiKeysDocument,
  BalancesDocument,
  CreateApiKeyDocument,
  CreateDepositDocument,
  DepositStatusChangedDocument,
  RevokeApiKeyDocument,
} from '../generated/graphql.js';
import {
  createTestDatabase,
  eventually,
  REDIS_URL,
  settlesWithin,
  startTestApp,
  type TestApp,
} from '../utils/harness.js';
import { connectWs, type WsConnection } from '../utils/ws-client.js';

/**
 * API keys and roles (contract: "API keys and roles"): operators list, create and revoke their
 * tenant's keys; a key is shown once and stored as SHA-256; revocation is immediate on the gateway
 * that revoked it and reaches every other one, open sockets included, within 10 seconds.
 */

const run = promisify(execFile);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('API keys and roles', () => {
  let t: TestApp;
  const logs: string[] = [];
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => logs.push(chunk.toString('utf8')));
    t = await startTestApp({ env: { LOG_LEVEL: 'debug' }, logStream: stream });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await t.stop();
  });

  const create = async (role: 'APP' | 'OPERATOR', label: string, apiKey = t.operatorKey) =>
    t.gql(CreateApiKeyDocument, { role, label }, { apiKey });
  const createKey = async (role: 'APP' | 'OPERATOR', label: string, apiKey?: string) => {
    const res = await create(role, label, apiKey);
    expect(res.errors).toBeUndefined();
    return res.data!.createApiKey;
  };
  const balancesWith = (apiKey: string) => t.gql(BalancesDocument, { userId: 'nobody' }, { apiKey });
  const newTenant = async (name: string) => t.app.tenants.create(name);
  /** Every statement the app has sent to Postgres has finished (its pool has nothing in flight or queued). */
  const appPoolIdle = async () => {
    const pool = await poolOf(t.app.orm);
    await eventually(async () => pool.waitingCount === 0 && pool.idleCount === pool.totalCount);
  };

  it('the bootstrap keys: BOOTSTRAP_API_KEY is an APP key labelled bootstrap, BOOTSTRAP_OPERATOR_KEY an OPERATOR key', async () => {
    const res = await t.gql(ApiKeysDocument, {}, { apiKey: t.operatorKey });
    expect(res.errors).toBeUndefined();
    const keys = res.data!.apiKeys;
    expect(keys.map((k) => [k.role, k.label, k.revokedAt])).toEqual([
      ['APP', 'bootstrap', null],
      ['OPERATOR', 'bootstrap-operator', null],
    ]);
    // The same APP key refused the operator field.
    const app = await t.gql(ApiKeysDocument, {}, { apiKey: t.apiKey });
    expect(app.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(app.data ?? null).toBeNull();
  });

  it('createApiKey shows the key once, stores only its SHA-256, and the key works with exactly its role', async () => {
    const created = await createKey('APP', 'checkout backend');
    expect(created.key).toMatch(/^dgw_[A-Za-z0-9_-]{40,}$/);
    expect(created.apiKey).toMatchObject({ role: 'APP', label: 'checkout backend', lastUsedAt: null, revokedAt: null });
    const stored = await t.sql<{ key_hash: string }>('select key_hash from api_key where id = $1', [created.apiKey.id]);
    expect(stored).toEqual([{ key_hash: sha256(created.key) }]);
    const everything = JSON.stringify(await t.sql('select * from api_key'));
    expect(everything).not.toContain(created.key);

    // The APP key does what apps do, and nothing an operator does.
    const deposit = await t.gql(
      CreateDepositDocument,
      { input: { userId: 'key-user', currency: 'USD', amount: '1' } },
      { apiKey: created.key },
    );
    expect(deposit.errors).toBeUndefined();
    expect((await create('OPERATOR', 'escalation', created.key)).errors?.[0].extensions?.code).toBe('FORBIDDEN');

    // An OPERATOR key made by an operator can manage keys itself.
    const operator = await createKey('OPERATOR', 'second operator');
    expect((await t.gql(ApiKeysDocument, {}, { apiKey: operator.key })).errors).toBeUndefined();

    // Never returned again: not by the list, to anyone.
    const listed = JSON.stringify(await t.gql(ApiKeysDocument, {}, { apiKey: t.operatorKey }));
    for (const secret of [created.key, sha256(created.key), operator.key, sha256(operator.key), t.operatorKey]) {
      expect(listed).not.toContain(secret);
    }
  });

  it('refuses a label that is empty, blank, longer than 100 characters or has control characters, naming label', async () => {
    const count = async () => (await t.sql('select id from api_key')).length;
    const before = await count();
    for (const label of [
      '',
      '   ',
      'x'.repeat(101),
      '😀'.repeat(101),
      'a\nb',
      'tab\there',
      'nul\u0000',
      'del\u007f',
      'c1\u0085',
    ]) {
      const res = await create('APP', label);
      expect(res.errors?.[0].extensions, JSON.stringify(label)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'label',
      });
      expect(res.data ?? null).toBeNull();
    }
    expect(await count()).toBe(before);
    // Trimmed; 100 characters (not bytes, not UTF-16 units) fit.
    expect((await createKey('APP', '  padded  ')).apiKey.label).toBe('padded');
    expect((await createKey('APP', '😀'.repeat(100))).apiKey.label).toBe('😀'.repeat(100));
    expect((await createKey('APP', 'é'.repeat(100))).apiKey.label).toBe('é'.repeat(100));
  });

  it('revokeApiKey refuses the key at once on this gateway (cache included), and a second revoke changes nothing', async () => {
    const { key, apiKey } = await createKey('APP', 'to revoke');
    expect((await balancesWith(key)).status).toBe(200); // cached now
    const revoked = await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { apiKey: t.operatorKey });
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey).toMatchObject({ id: apiKey.id, role: 'APP', label: 'to revoke' });
    expect(revoked.data!.revokeApiKey.revokedAt).toBeTruthy();

    const refused = await balancesWith(key);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');

    const again = await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { apiKey: t.operatorKey });
    expect(again.errors).toBeUndefined();
    expect(again.data!.revokeApiKey).toEqual(revoked.data!.revokeApiKey);
    // Listed with its revocation, kept for the audit trail.
    const listed = (await t.gql(ApiKeysDocument, {}, { apiKey: t.operatorKey })).data!.apiKeys;
    expect(listed.find((k) => k.id === apiKey.id)?.revokedAt).toBe(revoked.data!.revokeApiKey.revokedAt);
  });

  it("another tenant's key id, or no UUID at all, is NOT_FOUND and revokes nothing; keys are listed per tenant", async () => {
    const other = await newTenant('other-tenant');
    const [otherKey] = await t.sql<{ id: string }>(
      `select k.id from api_key k join tenant t on t.id = k.tenant_id where t.name = 'other-tenant' and k.role = 'APP'`,
    );
    for (const id of [otherKey.id, 'not-a-uuid', "' or 1=1 --", '00000000-0000-4000-8000-000000000000']) {
      const res = await t.gql(RevokeApiKeyDocument, { id }, { apiKey: t.operatorKey });
      expect(res.errors?.[0].extensions?.code, id).toBe('NOT_FOUND');
      expect(res.data ?? null).toBeNull();
    }
    expect((await balancesWith(other.apiKey)).status).toBe(200);
    expect(await t.sql('select id from api_key where revoked_at is not null and id = $1', [otherKey.id])).toEqual([]);

    const mine = (await t.gql(ApiKeysDocument, {}, { apiKey: t.operatorKey })).data!.apiKeys.map((k) => k.id);
    const theirs = (await t.gql(ApiKeysDocument, {}, { apiKey: other.operatorKey })).data!.apiKeys;
    expect(theirs.map((k) => [k.role, k.label])).toEqual([
      ['APP', 'app'],
      ['OPERATOR', 'operator'],
    ]);
    expect(theirs.filter((k) => mine.includes(k.id))).toEqual([]);
  });

  it("a tenant's last operator key cannot be revoked, even by two revocations at once", async () => {
    const solo = await newTenant('solo-tenant');
    const keys = (await t.gql(ApiKeysDocument, {}, { apiKey: solo.operatorKey })).data!.apiKeys;
    const operatorId = keys.find((k) => k.role === 'OPERATOR')!.id;
    const last = await t.gql(RevokeApiKeyDocument, { id: operatorId }, { apiKey: solo.operatorKey });
    expect(last.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    expect((await t.gql(ApiKeysDocument, {}, { apiKey: solo.operatorKey })).errors).toBeUndefined();

    // Two operator keys, each revoking the other at the same moment: exactly one wins, over HTTP
    // (the loser is refused, or finds its own key revoked) and in the service itself.
    for (let round = 0; round < 6; round++) {
      const second = await createKey('OPERATOR', `second-${round}`, solo.operatorKey);
      const live = await t.sql<{ id: string; key_hash: string }>(
        `select k.id, k.key_hash from api_key k join tenant t on t.id = k.tenant_id
          where t.name = 'solo-tenant' and k.role = 'OPERATOR' and k.revoked_at is null order by k.created_at`,
      );
      expect(live).toHaveLength(2);
      const [mine, theirs] = live; // solo.operatorKey's, second's
      expect(theirs.key_hash).toBe(sha256(second.key));
      let outcomes: string[];
      if (round % 2 === 0) {
        // Both keys were used (cached): both requests pass authentication before either commits.
        await Promise.all([balancesWith(second.key), balancesWith(solo.operatorKey)]);
        const results = await Promise.all([
          t.gql(RevokeApiKeyDocument, { id: mine.id }, { apiKey: second.key }),
          t.gql(RevokeApiKeyDocument, { id: theirs.id }, { apiKey: solo.operatorKey }),
        ]);
        outcomes = results.map((r) => String(r.errors?.[0].extensions?.code ?? 'OK'));
      } else {
        const results = await Promise.allSettled([
          t.app.apiKeys.revoke(solo.tenantId, mine.id),
          t.app.apiKeys.revoke(solo.tenantId, theirs.id),
        ]);
        outcomes = results.map((r) => (r.status === 'fulfilled' ? 'OK' : String((r.reason as { code?: string }).code)));
        expect(outcomes.sort()).toEqual(['BAD_USER_INPUT', 'OK']);
      }
      expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'OK')[0]).toMatch(/^(BAD_USER_INPUT|UNAUTHENTICATED)$/);
      const stillLive = await t.sql<{ key_hash: string }>(
        `select k.key_hash from api_key k join tenant t on t.id = k.tenant_id
          where t.name = 'solo-tenant' and k.role = 'OPERATOR' and k.revoked_at is null`,
      );
      expect(stillLive).toHaveLength(1);
      // The survivor keeps the tenant managed; the next round goes on with it.
      solo.operatorKey = stillLive[0].key_hash === sha256(second.key) ? second.key : solo.operatorKey;
      expect((await t.gql(ApiKeysDocument, {}, { apiKey: solo.operatorKey })).errors).toBeUndefined();
    }
  });

  it('lastUsedAt: null until the key is used, then set, and written at most once a minute', async () => {
    const { key, apiKey } = await createKey('APP', 'usage');
    const lastUsed = async () =>
      (await t.gql(ApiKeysDocument, {}, { apiKey: t.operatorKey })).data!.apiKeys.find((k) => k.id === apiKey.id)!
        .lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const before = Date.now();
    expect((await balancesWith(key)).status).toBe(200);
    const first = await eventually(lastUsed);
    // The time of that use (the value stored, not a measure of speed).
    expect(Date.parse(first)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(first)).toBeLessThanOrEqual(Date.now());
    for (let i = 0; i < 5; i++) expect((await balancesWith(key)).status).toBe(200);
    // The write is not awaited by the request: wait until every statement sent has finished.
    await appPoolIdle();
    expect(await lastUsed()).toBe(first);
  });

  it('an open socket authenticated with a key is closed with 4403 when that key is revoked here', async () => {
    const { key, apiKey } = await createKey('APP', 'socket user');
    const ws = connectWs(t.gatewayUrl, { apiKey: key });
    sockets.push(ws);
    await ws.connected;
    ws.subscribe(DepositStatusChangedDocument, {});
    // Another socket, with another key, stays open.
    const bystander = connectWs(t.gatewayUrl, { apiKey: t.apiKey });
    sockets.push(bystander);
    await bystander.connected;
    // The periodic check (revocations made on other gateways) sees nothing: only the revocation here can close it.
    const periodic = vi.spyOn(t.app.tenants, 'revokedAmong').mockResolvedValue(new Set());
    try {
      expect((await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { apiKey: t.operatorKey })).errors).toBeUndefined();
      const closed = await settlesWithin(ws.closed, 10_000, "the revoked key's socket closing");
      expect(closed.code).toBe(4403);
    } finally {
      periodic.mockRestore();
    }
    expect(bystander.closes).toEqual([]);
    // And the key cannot open a new one.
    const again = connectWs(t.gatewayUrl, { apiKey: key });
    sockets.push(again);
    expect((await again.closed).code).toBe(4403);
  });

  it('never logs a key: not the created one, not the ones used, not their hashes', async () => {
    const { key } = await createKey('OPERATOR', 'log check');
    await balancesWith(key);
    await t.gql(ApiKeysDocument, {}, { apiKey: key });
    const text = logs.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [key, sha256(key), t.operatorKey, t.apiKey]) expect(text).not.toContain(secret);
  });

  describe('with a second gateway on the same database', () => {
    let g2: TestApp;
    beforeAll(async () => {
      g2 = await startTestApp({ database: t.db, prefix: t.prefix, role: 'gateway' });
    });
    afterAll(async () => {
      await g2.stop();
    });

    it('a key revoked on one gateway is refused by the other within 10 seconds, and its sockets there close with 4403', async () => {
      // What bounds it: the other gateway's key cache and its socket check, each inside the contract's 10 s.
      expect(KEY_CACHE_TTL_MS).toBeLessThan(10_000);
      expect(SOCKET_KEY_CHECK_MS).toBeLessThan(10_000);
      const { key, apiKey } = await createKey('APP', 'two gateways');
      const other = (apiKey: string) =>
        fetch(`${g2.gatewayUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
          body: JSON.stringify({ query: '{ balances(userId: "nobody") { currency } }' }),
        });
      expect((await other(key)).status).toBe(200); // in the other gateway's cache now
      const ws = connectWs(g2.gatewayUrl, { apiKey: key });
      sockets.push(ws);
      await ws.connected;
      ws.subscribe(DepositStatusChangedDocument, {});

      expect((await t.gql(RevokeApiKeyDocument, { id: apiKey.id }, { apiKey: t.operatorKey })).errors).toBeUndefined();
      expect((await balancesWith(key)).status).toBe(401); // at once where it was revoked
      // Deadlines for the waits only, with room for a loaded machine; the bound is the settings above.
      await eventually(async () => (await other(key)).status === 401, 12_000, 100);
      const closed = await settlesWithin(ws.closed, 12_000, 'the socket on the other gateway closing');
      expect(closed.code).toBe(4403);
    });
  });
});

describe('the bootstrap operator key by environment', () => {
  it(`development without BOOTSTRAP_OPERATOR_KEY: ${DEV_OPERATOR_KEY} is an operator key of the tenant default, announced in the log`, async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const t = await startTestApp({
      env: { NODE_ENV: 'development', BOOTSTRAP_OPERATOR_KEY: '', LOG_LEVEL: 'info' },
      logStream: stream,
    });
    try {
      const res = await t.gql(ApiKeysDocument, {}, { apiKey: DEV_OPERATOR_KEY });
      expect(res.errors).toBeUndefined();
      expect(res.data!.apiKeys.find((k) => k.role === 'OPERATOR')?.label).toBe('bootstrap-operator');
      const announced = lines
        .join('')
        .split('\n')
        .filter((l) => l.includes('development defaults'));
      expect(announced).toHaveLength(1);
      expect(JSON.parse(announced[0])).toMatchObject({ operatorKey: DEV_OPERATOR_KEY });
      // The app key set through the environment is not a development default: never logged.
      expect(lines.join('')).not.toContain(t.apiKey);
    } finally {
      await t.stop();
    }
  });

  it('production without BOOTSTRAP_OPERATOR_KEY: no operator key exists, and the development one is refused', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const t = await startTestApp({
      env: { NODE_ENV: 'production', WEBHOOK_SECRET_SANDBOX: '', BOOTSTRAP_OPERATOR_KEY: '', LOG_LEVEL: 'info' },
      logStream: stream,
    });
    try {
      const res = await t.gql(ApiKeysDocument, {}, { apiKey: DEV_OPERATOR_KEY });
      expect(res.status).toBe(401);
      expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(await t.sql(`select id from api_key where role = 'OPERATOR'`)).toEqual([]);
      expect(lines.join('')).not.toContain('development defaults');
      expect(lines.join('')).not.toContain(DEV_OPERATOR_KEY);
    } finally {
      await t.stop();
    }
  });

  it('a BOOTSTRAP_OPERATOR_KEY set in production works as an OPERATOR key and is never logged', async () => {
    const key = 'prod_operator_key_0123456789abcdef';
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const t = await startTestApp({
      env: { NODE_ENV: 'production', WEBHOOK_SECRET_SANDBOX: '', BOOTSTRAP_OPERATOR_KEY: key, LOG_LEVEL: 'debug' },
      logStream: stream,
    });
    try {
      const res = await t.gql(ApiKeysDocument, {}, { apiKey: key });
      expect(res.errors).toBeUndefined();
      expect(res.data!.apiKeys.map((k) => [k.role, k.label])).toContainEqual(['OPERATOR', 'bootstrap-operator']);
      expect(lines.join('')).not.toContain(key);
    } finally {
      await t.stop();
    }
  });
});

describe('the command line: apikey:create and tenant:create', () => {
  let t: TestApp;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    t = await startTestApp();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      DATABASE_URL: t.db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: t.prefix,
      // What the running gateway has: a command starts the app too, and adds these at start.
      BOOTSTRAP_API_KEY: t.apiKey,
      BOOTSTRAP_OPERATOR_KEY: t.operatorKey,
    };
  });
  afterAll(async () => {
    await t.stop();
  });

  const npm = (args: string[]) =>
    run('npm', ['run', '--silent', ...args], { env, timeout: 60_000 }).then(
      (out) => ({ ...out, code: 0 }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it('apikey:create prints the key alone on stdout with --silent; the key has its role and label', async () => {
    const out = await npm(['apikey:create', '--', '--tenant', 'default', '--role', 'operator', '--label', 'cli ops']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^dgw_[A-Za-z0-9_-]{40,}\n$/);
    const key = out.stdout.trim();
    const listed = await t.gql(ApiKeysDocument, {}, { apiKey: key });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.apiKeys.map((k) => [k.role, k.label])).toContainEqual(['OPERATOR', 'cli ops']);
    expect(await t.sql('select id from api_key where key_hash = $1', [sha256(key)])).toHaveLength(1);
    expect(out.stderr).not.toContain(key);

    const app = await npm(['apikey:create', '--', '--tenant', 'default', '--role', 'app', '--label', 'cli app']);
    const appKey = app.stdout.trim();
    expect((await balancesOf(appKey)).status).toBe(200);
    expect((await t.gql(ApiKeysDocument, {}, { apiKey: appKey })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }, 90_000);

  const balancesOf = (apiKey: string) => t.gql(BalancesDocument, { userId: 'nobody' }, { apiKey });

  it('apikey:create refuses a missing or bad argument (2), an unknown tenant (1), a bad label (2), creating nothing', async () => {
    const before = (await t.sql('select id from api_key')).length;
    const cases: [string[], number, RegExp][] = [
      [['--tenant', 'default', '--role', 'admin', '--label', 'x'], 2, /--role must be app or operator/],
      [['--tenant', 'default', '--label', 'x'], 2, /--role must be app or operator/],
      [['--role', 'app', '--label', 'x'], 2, /--tenant is required/],
      [['--tenant', 'default', '--role', 'app'], 2, /--label is required/],
      [['--tenant', 'default', '--role', 'app', '--label', 'x', '--sudo'], 2, /unknown argument/],
      [['--tenant', 'nobody-here', '--role', 'app', '--label', 'x'], 1, /no tenant named "nobody-here"/],
      [['--tenant', 'default', '--role', 'app', '--label', ' '], 2, /label: must not be empty/],
    ];
    const outs = await Promise.all(cases.map(([args]) => npm(['apikey:create', '--', ...args])));
    cases.forEach(([args, code, message], i) => {
      expect(outs[i].code, args.join(' ')).toBe(code);
      expect(outs[i].stdout, args.join(' ')).toBe('');
      expect(outs[i].stderr, args.join(' ')).toMatch(message);
    });
    expect((await t.sql('select id from api_key')).length).toBe(before);
  }, 120_000);

  it('tenant:create prints, after what it printed before, an operator key on a line of its own', async () => {
    const out = await npm(['tenant:create', '--', 'cli-roles']);
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^tenant: +cli-roles \(/);
    expect(lines[1]).toMatch(/^api key: +dgw_/);
    expect(lines.at(-2)).toBe('Store these now: they are not shown again.');
    expect(lines.at(-1)).toMatch(/^operator key: dgw_[A-Za-z0-9_-]{40,}$/);
    const appKey = /^api key: +(\S+)$/.exec(lines[1])![1];
    const operatorKey = lines.at(-1)!.slice('operator key: '.length);
    const listed = await t.gql(ApiKeysDocument, {}, { apiKey: operatorKey });
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.apiKeys.map((k) => k.role).sort()).toEqual(['APP', 'OPERATOR']);
    expect((await t.gql(ApiKeysDocument, {}, { apiKey: appKey })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  }, 90_000);
});

describe('the migration of keys that existed before roles', () => {
  it('makes them APP keys labelled legacy; the BOOTSTRAP_API_KEY one is labelled bootstrap at the next start', async () => {
    const db = await createTestDatabase('key_roles_migration');
    const orm = await createOrm({
      databaseUrl: db.url,
      poolMax: 2,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
    });
    const client = new pg.Client({ connectionString: db.url });
    const bootstrapKey = 'old_bootstrap_key_0123456789';
    const oldKey = 'old_tenant_key_0123456789';
    let t: TestApp | undefined;
    try {
      await orm.migrator.up({ to: 'Migration20261126140000_audit_trail' });
      await client.connect();
      const [tenantA, tenantB] = [randomUUID(), randomUUID()];
      await client.query(`insert into tenant (id, name) values ($1, 'default'), ($2, 'older')`, [tenantA, tenantB]);
      await client.query(
        `insert into api_key (id, tenant_id, key_hash) values (gen_random_uuid(), $1, $2), (gen_random_uuid(), $3, $4)`,
        [tenantA, sha256(bootstrapKey), tenantB, sha256(oldKey)],
      );
      await orm.close();
      t = await startTestApp({ database: db, env: { BOOTSTRAP_API_KEY: bootstrapKey } });
      const rows = await t.sql<{ name: string; role: string; label: string }>(
        `select t.name, k.role, k.label from api_key k join tenant t on t.id = k.tenant_id order by t.name, k.role`,
      );
      expect(rows).toEqual([
        { name: 'default', role: 'APP', label: 'bootstrap' },
        { name: 'default', role: 'OPERATOR', label: 'bootstrap-operator' },
        { name: 'older', role: 'APP', label: 'legacy' },
      ]);
      // Both old keys still work, as APP keys.
      for (const apiKey of [bootstrapKey, oldKey]) {
        expect((await t.gql(BalancesDocument, { userId: 'u' }, { apiKey })).status).toBe(200);
        expect((await t.gql(ApiKeysDocument, {}, { apiKey })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      }
      // A label nobody gave is refused by the database itself, as an unknown role is.
      await expect(
        client.query(`insert into api_key (id, tenant_id, key_hash) values (gen_random_uuid(), $1, 'x')`, [tenantB]),
      ).rejects.toThrow(/label/);
      await expect(
        client.query(
          `insert into api_key (id, tenant_id, key_hash, role, label) values (gen_random_uuid(), $1, 'y', 'ROOT', 'r')`,
          [tenantB],
        ),
      ).rejects.toThrow(/api_key_role_check/);
    } finally {
      await client.end().catch(() => undefined);
      await orm.close().catch(() => undefined);
      await t?.stop();
      await db.drop();
    }
  });
});

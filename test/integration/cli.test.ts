import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalancesDocument, CreateDepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { SECRETS, startTestApp, REDIS_URL, type TestApp } from '../utils/harness.js';
import { signedHeaders } from '../utils/signing.js';

const run = promisify(execFile);

describe('the command-line tools', () => {
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
      WEBHOOK_SECRET_SANDBOX: SECRETS.sandbox,
    };
  });
  afterAll(async () => {
    await t.stop();
  });

  const cli = (script: string, args: string[]) =>
    run('node_modules/.bin/tsx', [`src/cli/${script}.ts`, ...args], { env, timeout: 60_000 }).catch(
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  it('tenant:create prints an API key once that then works, stores only its hash, and refuses a taken name', async () => {
    const out = await cli('tenant-create', ['cli-tenant', '--hmac']);
    const key = /api key: +(\S+)/.exec(out.stdout)?.[1];
    const secret = /hmac secret: +(\S+)/.exec(out.stdout)?.[1];
    expect(key).toMatch(/^dgw_/);
    expect(secret).toMatch(/^hmac_/);
    const stored = await t.sql<{ key_hash: string }>(
      `select k.key_hash from api_key k join tenant t on t.id = k.tenant_id where t.name = 'cli-tenant' and k.role = 'APP'`,
    );
    expect(stored).toHaveLength(1);
    expect(stored[0].key_hash).not.toContain(key!);
    expect(await t.app.tenants.authenticate(key!)).toMatchObject({ name: 'cli-tenant' });

    const again = await cli('tenant-create', ['cli-tenant']);
    expect((again as { code?: number }).code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('replay re-applies stored events idempotently and prints a summary', async () => {
    const created = await t.gql(CreateDepositDocument, {
      input: { userId: 'replayer', currency: 'USD', amount: '25.00' },
    });
    const id = created.data!.createDeposit.deposit.id;
    const body = fixtureFor('sandbox/paid.json', id);
    expect((await t.postWebhook('sandbox', body, signedHeaders(SECRETS.sandbox, body))).status).toBe(200);

    const out = await cli('replay', ['--provider', 'sandbox', '--since', '2000-01-01T00:00:00Z']);
    expect(out.stdout).toContain('replayed 1 sandbox events');
    expect(out.stdout).toMatch(/unchanged +1/);
    const balances = await t.gql(BalancesDocument, { userId: 'replayer' });
    expect(balances.data!.balances).toEqual([{ userId: 'replayer', currency: 'USD', available: '25' }]);
    const ledger = await t.sql('select * from ledger_entry where deposit_id = $1', [id]);
    expect(ledger).toHaveLength(1);
  });

  it('tenant:create and replay, which do not use Redis, say nothing about REDIS_URL and warn about nothing', async () => {
    const withoutRedis = { ...env, REDIS_URL: '' };
    const runWithout = (script: string, args: string[]) =>
      run('node_modules/.bin/tsx', [`src/cli/${script}.ts`, ...args], { env: withoutRedis, timeout: 60_000 }).catch(
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
    const created = await runWithout('tenant-create', ['quiet-tenant']);
    expect(created.stdout).toMatch(/api key: +dgw_/);
    const replayed = await runWithout('replay', ['--provider', 'sandbox', '--since', '2000-01-01T00:00:00Z']);
    expect(replayed.stdout).toContain('replayed');
    for (const out of [created, replayed]) {
      expect(out.stderr).not.toContain('REDIS_URL');
      // Log lines are JSON with a numeric level; warn is 40. (replay also draws a progress bar on stderr.)
      const levels = out.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { level: number }).level);
      expect(levels.filter((level) => level >= 40)).toEqual([]);
    }
  });

  it('replay refuses bad arguments with a usage line', async () => {
    const out = await cli('replay', ['--provider', 'nobody']);
    expect((out as { code?: number }).code).toBe(2);
    expect(out.stderr).toContain('usage: npm run replay');
  });
});

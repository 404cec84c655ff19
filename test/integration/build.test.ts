import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BalancesDocument, CreateDepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { createTestDatabase, eventually, SECRETS, uniqueName, type TestDatabase } from '../utils/harness.js';
import { gqlAt, postWebhookTo, spawnApp, type AppProcess } from '../utils/processes.js';
import { signedHeaders } from '../utils/signing.js';

/**
 * The production build: `npm run build` compiles src/ to dist/ with tsc, and `node dist/main.js`
 * runs it as the Docker image does (no TypeScript runner): migrations from the compiled list,
 * the schema from the compiled decorators, the gateway's static files beside its code, and
 * nothing imported that `npm ci --omit=dev` leaves out.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = path.join(ROOT, 'dist');

/** Every `.js` file under `dir`. */
async function compiled(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => path.join(e.parentPath, e.name));
}

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('the production build', () => {
  let db: TestDatabase;
  let app: AppProcess | undefined;
  beforeAll(async () => {
    // npm puts node_modules/.bin first: tsc runs on the Node 22 of the `node` package, as in CI.
    // The server half only: rebuilding dist/console here would empty it under the console's tests.
    await promisify(execFile)('npm', ['run', 'build:server'], { cwd: ROOT });
    db = await createTestDatabase('build');
  }, 180_000);
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('imports, statically, only Node itself, its own files and production dependencies', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const imported = new Set<string>();
    for (const file of await compiled(DIST)) {
      if (file.startsWith(path.join(DIST, 'console'))) continue; // the console's browser bundle
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^'.][^']*)'|^import\s+'([^'.][^']*)'/gm)) {
        imported.add(packageOf((m[1] ?? m[2]).replace(/^node:/, '')));
      }
    }
    expect(imported.size).toBeGreaterThan(10);
    expect([...imported].filter((p) => !allowed.has(p))).toEqual([]);
  });

  it('starts with `node dist/main.js all` and works end to end', async () => {
    app = await spawnApp('all', { database: db, prefix: `test:${uniqueName('build')}:`, entry: ['dist/main.js'] });
    // Ready means migrated (from the compiled migration list) and bootstrapped, on both ports.
    expect((await fetch(`${app.gatewayUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${app.webhookUrl}/readyz`)).status).toBe(200);

    const created = await gqlAt(app.gatewayUrl, CreateDepositDocument, {
      input: { userId: 'compiled', currency: 'USD', amount: '25.00' },
    });
    expect(created.errors).toBeUndefined();
    const id = created.data!.createDeposit.deposit.id;
    const body = fixtureFor('sandbox/paid.json', id);
    const res = await postWebhookTo(app.webhookUrl, 'sandbox', body, signedHeaders(SECRETS.sandbox, body));
    expect(res).toEqual({ status: 200, json: { status: 'accepted' } });
    const balances = await eventually(async () => {
      const r = await gqlAt(app!.gatewayUrl, BalancesDocument, { userId: 'compiled' });
      return r.data?.balances.length ? r.data.balances : undefined;
    });
    expect(balances).toEqual([{ userId: 'compiled', currency: 'USD', available: '25' }]);

    // GraphiQL's own files were copied beside the compiled gateway.
    const init = await fetch(`${app.gatewayUrl}/graphiql/init.js`);
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('GraphiQL');
  });
});

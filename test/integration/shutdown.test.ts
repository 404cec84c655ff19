import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureFor } from '../fixtures/index.js';
import {
  createTestDatabase,
  SECRETS,
  startTestApp,
  TEST_API_KEY,
  uniqueName,
  type TestApp,
  type TestDatabase,
} from '../utils/harness.js';
import { spawnApp } from '../utils/processes.js';
import { signedHeaders } from '../utils/signing.js';

describe('graceful shutdown of a sidecar under load', () => {
  let db: TestDatabase;
  let t: TestApp;
  const prefix = `test:${uniqueName('shutdown')}:`;
  beforeAll(async () => {
    db = await createTestDatabase('shutdown');
    // Migrates the database, makes the tenant, and gives us the service layer to create deposits.
    t = await startTestApp({ role: 'gateway', database: db, prefix });
  });
  afterAll(async () => {
    await t.stop();
    await db.drop();
  });

  it('loses nothing it acknowledged when SIGTERM arrives mid-load', async () => {
    const tenant = await t.app.tenants.authenticate(TEST_API_KEY);
    const ids: string[] = [];
    for (let i = 0; i < 240; i++) {
      const d = await t.app.deposits.create(tenant!.tenantId, {
        userId: `u${i % 7}`,
        currency: 'USD',
        amount: '25.00',
      });
      ids.push(d.deposit.id);
    }
    const sidecar = await spawnApp('webhooks', { database: db, prefix });
    const deliveries = ids.map((id) => {
      const body = fixtureFor('sandbox/paid.json', id);
      return { id, body, headers: signedHeaders(SECRETS.sandbox, body) };
    });

    const outcomes = new Map<string, string>();
    let answered = 0;
    let stopping: Promise<number | null> | undefined;
    let next = 0;
    const worker = async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++];
        try {
          const res = await fetch(`${sidecar.webhookUrl}/webhooks/sandbox`, {
            method: 'POST',
            headers: d.headers,
            body: d.body,
          });
          const json = (await res.json().catch(() => ({}))) as { status?: string };
          outcomes.set(d.headers['webhook-id'], res.status === 200 ? (json.status ?? 'ok') : `http ${res.status}`);
        } catch {
          outcomes.set(d.headers['webhook-id'], 'refused');
        }
        if (++answered === 60) stopping = sidecar.stop();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const exitCode = await stopping;
    expect(exitCode).toBe(0);

    const acked = [...outcomes].filter(([, o]) => o === 'accepted').map(([id]) => id);
    const notAcked = [...outcomes].filter(([, o]) => o !== 'accepted');
    expect(acked.length).toBeGreaterThanOrEqual(60);
    expect(notAcked.length).toBeGreaterThan(0); // the signal did land mid-load

    const stored = await t.sql<{ dedupe_key: string; processed_at: Date | null }>(
      'select dedupe_key, processed_at from webhook_inbox where dedupe_key = any($1)',
      [acked],
    );
    expect(stored.map((r) => r.dedupe_key).sort()).toEqual([...acked].sort());
    // In-flight transactions were finished, not cut: every acknowledged event is applied and credited.
    expect(stored.filter((r) => r.processed_at === null)).toEqual([]);
    const credits = await t.sql<{ n: string }>(
      `select count(*) as n from ledger_entry l join webhook_inbox i on i.deposit_id = l.deposit_id where i.dedupe_key = any($1)`,
      [acked],
    );
    expect(Number(credits[0].n)).toBe(acked.length);
  });
});

import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LAYER1_FLOW } from '../fixtures/index.js';
import { TRACE_STAGES, type StatusTrace } from '../../src/lib/trace.js';
import { eventually, startTestApp, type TestApp } from '../utils/harness.js';
import { createLayer1DepositAt, postLayer1At } from '../utils/processes.js';
import { wsUrl } from '../utils/ws-client.js';

/**
 * STATUS_TRACE=1: each live `next` carries the trace of its change in `extensions`, every
 * stage stamped, in the order the change passed them. Ordering only, never durations.
 * The components read the flag when they are built, so each app is started with the
 * environment it needs and the flag removed after.
 */

const QUERY = 'subscription Watch($id: ID!) { depositStatusChanged(depositId: $id) { status deposit { id } } }';

type Next = ExecutionResult<{ depositStatusChanged: { status: string } }, { trace?: StatusTrace }>;

function startWith(trace: boolean): Promise<TestApp> {
  return startTestApp({ env: { STATUS_TRACE: trace ? '1' : '0' } });
}

/** The five layer1 changes of a new deposit as its client-token subscriber received them. */
async function watchFlow(t: TestApp, clients: Client[]): Promise<Next[]> {
  const { id, clientToken } = await createLayer1DepositAt(t.gatewayUrl, 'trace-user');
  const client = createClient({
    url: wsUrl(t.gatewayUrl),
    webSocketImpl: WebSocket,
    connectionParams: { clientToken },
    retryAttempts: 0,
  });
  clients.push(client);
  const received: Next[] = [];
  const errors: unknown[] = [];
  client.subscribe(
    { query: QUERY, variables: { id } },
    { next: (r) => void received.push(r as Next), error: (e) => void errors.push(e), complete: () => undefined },
  );
  await eventually(async () => t.app.statusStream!.openCount() === 1, 10_000);
  for (const [fixture] of LAYER1_FLOW) await postLayer1At(t.webhookUrl, id, fixture);
  await eventually(async () => received.length >= LAYER1_FLOW.length || errors.length > 0, 10_000);
  expect(errors).toEqual([]);
  expect(received.map((r) => r.data?.depositStatusChanged.status)).toEqual(LAYER1_FLOW.map(([, s]) => s));
  return received;
}

describe('STATUS_TRACE', () => {
  let t: TestApp | undefined;
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await t?.stop();
    t = undefined;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('on: every change arrives with each stage stamped, in the order the change passed them', async () => {
    t = await startWith(true);
    const received = await watchFlow(t, clients);
    for (const r of received) {
      const trace = r.extensions?.trace;
      expect(trace, 'the trace of every change').toBeDefined();
      for (const stage of TRACE_STAGES) expect(typeof trace![stage], `stage ${stage}`).toBe('number');
      const at = (stage: keyof StatusTrace) => trace![stage]!;
      // The relay's path, one stage after the other, each on one process's clock or a shared one.
      const path = ['relayQuery', 'relayed', 'published', 'gateway', 'written'] as const;
      for (let i = 1; i < path.length; i++)
        expect(at(path[i]), `${path[i - 1]} ≤ ${path[i]}`).toBeGreaterThanOrEqual(at(path[i - 1]));
      // The sidecar's side: received before its commit, and before the relay could read the change.
      // (The relay may have sent its statement just before the sidecar heard of the commit: no order is asserted between those.)
      expect(at('committed')).toBeGreaterThanOrEqual(at('received'));
      expect(at('relayed')).toBeGreaterThanOrEqual(at('received'));
    }
    // One webhook each: each change was received after the previous change was committed.
    for (let i = 1; i < received.length; i++) {
      expect(received[i].extensions!.trace!.received!).toBeGreaterThanOrEqual(
        received[i - 1].extensions!.trace!.committed!,
      );
    }
  });

  it('off: no trace and no extensions on the messages', async () => {
    t = await startWith(false);
    const received = await watchFlow(t, clients);
    for (const r of received) expect(r.extensions).toBeUndefined();
  });
});

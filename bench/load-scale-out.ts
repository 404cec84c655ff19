import http from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { receive, reply, runTool, sleep, summarize, wallMs, type LatencySummary, type Message } from './common.js';
import { signedRequest, type PlannedEvent, type SignedRequest } from './events.js';

/**
 * Load process of the scale-out scenario (`bench/scale-out.ts`): one graphql-ws client per
 * deposit, spread over the gateways (a deposit's subscriber on gateway i % n), and the
 * provider's side: every planned webhook POSTed once, `connections` at a time, round-robin
 * over the sidecars as a load balancer would; a POST that fails (a sidecar that died, a 5xx)
 * is sent again to the next sidecar, as a provider retries. Records the provider's wait (first
 * send to the accepting answer, retries included) and the end to end latency (first send to
 * the subscriber's receipt), and every change received, so that lost and doubled ones can be
 * counted against the plan.
 *
 * IPC: ← job {gatewayWsUrls, webhookUrls, subs, events, connections, drainMs} → subscribed;
 * ← go → (progress at every tenth of the events) → result.
 */

export interface ScaleOutJob extends Message {
  type: 'job';
  gatewayWsUrls: string[];
  webhookUrls: string[];
  subs: { depositId: string; clientToken: string }[];
  events: PlannedEvent[];
  /** Webhook POSTs in flight at once (closed loop: the next one leaves when one is answered). */
  connections: number;
  /** How long to wait for the last changes after the last answer. */
  drainMs: number;
}

export interface ScaleOutResult extends Message {
  type: 'result';
  sent: number;
  durationS: number;
  /** Accepted events per second, up to the last answer. */
  perSecond: number;
  /** First send to the accepting answer, retries included (what the provider waits). */
  answer: LatencySummary;
  /** First send to the subscriber's receipt. */
  e2e: LatencySummary;
  /** Answers by outcome (`accepted`, `duplicate`) and the failed attempts that were retried (`retried`). */
  outcomes: Record<string, number>;
  /** Subscriptions refused or closed before the load began (their deposits' changes are not counted as lost). */
  notSubscribed: number;
  /** Planned changes no subscriber received (of deposits whose subscription was open when the load began). */
  lost: number;
  /** Changes a subscriber received more than once. */
  doubled: number;
  /** Changes received that were not planned (e.g. skipped statuses). */
  unexpected: number;
  subscriptionErrors: number;
  firstError?: string;
}

const QUERY = `subscription Watch($id: ID!) { depositStatusChanged(depositId: $id) { status deposit { id } } }`;

interface Change {
  depositStatusChanged: { status: string; deposit: { id: string } };
}

const keyOf = (depositId: string, status: string) => `${depositId}|${status}`;

runTool(async () => {
  const job = await receive<ScaleOutJob>('job');
  const received = new Map<string, number>();
  const firstSent = new Map<string, number>();
  const e2e: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  /** Deposits whose subscription was refused or ended (a gateway that could not reach Postgres refuses the socket). */
  const failed = new Set<string>();

  const clients: Client[] = [];
  let next = 0;
  const open = (s: { depositId: string; clientToken: string }, url: string) =>
    new Promise<void>((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        connectionParams: { clientToken: s.clientToken },
        retryAttempts: 0,
        lazy: true,
        on: {
          connected: () => resolve(),
          closed: () => {
            failed.add(s.depositId);
            resolve();
          },
        },
      });
      clients.push(client);
      client.subscribe<Change>(
        { query: QUERY, variables: { id: s.depositId } },
        {
          next: (r) => {
            const now = wallMs();
            const c = r.data?.depositStatusChanged;
            if (!c) {
              errors++;
              firstError ??= JSON.stringify(r.errors);
              return;
            }
            const key = keyOf(c.deposit.id, c.status);
            const n = (received.get(key) ?? 0) + 1;
            received.set(key, n);
            const t = firstSent.get(key);
            if (n === 1 && t !== undefined) e2e.push(now - t);
          },
          error: (err) => {
            failed.add(s.depositId);
            errors++;
            firstError ??= err instanceof Error ? err.message : JSON.stringify(err);
          },
          complete: () => undefined,
        },
      );
    });
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let i = next++; i < job.subs.length; i = next++) {
        await open(job.subs[i], job.gatewayWsUrls[i % job.gatewayWsUrls.length]);
      }
    }),
  );
  await reply({ type: 'subscribed', opened: clients.length - failed.size, errors, firstError });

  await receive('go');
  const notSubscribed = new Set(failed);
  const requests = job.events.map((e) => signedRequest(e));
  const sent = await blast(job, requests, firstSent);
  const until = Date.now() + job.drainMs;
  while (e2e.length < job.events.length && Date.now() < until) await sleep(20);
  await sleep(200); // a late duplicate would come now

  const planned = new Set(job.events.map((e) => keyOf(e.depositId, e.status)));
  let lost = 0;
  for (const e of job.events) {
    if (!notSubscribed.has(e.depositId) && !received.has(keyOf(e.depositId, e.status))) lost++;
  }
  let doubled = 0;
  let unexpected = 0;
  for (const [k, n] of received) {
    if (n > 1) doubled += n - 1;
    if (!planned.has(k)) unexpected++;
  }
  await reply({
    type: 'result',
    ...sent,
    e2e: summarize(e2e),
    notSubscribed: notSubscribed.size,
    lost,
    doubled,
    unexpected,
    subscriptionErrors: errors,
    firstError,
  } satisfies ScaleOutResult);
  await Promise.all(clients.map((c) => c.dispose()));
});

/** Every event once, `connections` at a time, round-robin over the sidecars, retrying a failure on the next one. */
async function blast(
  job: ScaleOutJob,
  requests: SignedRequest[],
  firstSent: Map<string, number>,
): Promise<Pick<ScaleOutResult, 'sent' | 'durationS' | 'perSecond' | 'answer' | 'outcomes'>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const urls = job.webhookUrls.map((u) => new URL(u));
  const outcomes: Record<string, number> = {};
  const answers: number[] = [];
  let turn = 0;
  let next = 0;
  let done = 0;
  const tenth = Math.max(1, Math.floor(requests.length / 10));
  const t0 = performance.now();
  let last = t0;
  const postOnce = (url: URL, r: SignedRequest) =>
    new Promise<string>((resolve) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: r.path,
          method: 'POST',
          agent,
          timeout: 30_000,
          headers: { ...r.headers, 'content-length': Buffer.byteLength(r.body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve(res.statusCode === 200 ? (/"status":"(\w+)"/.exec(body)?.[1] ?? '200') : String(res.statusCode));
          });
          res.on('error', () => resolve('error'));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve('error'));
      req.end(r.body);
    });
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      for (let k = next++; k < requests.length; k = next++) {
        const e = job.events[k];
        const started = performance.now();
        firstSent.set(keyOf(e.depositId, e.status), wallMs());
        for (let attempt = 0; ; attempt++) {
          const outcome = await postOnce(urls[turn++ % urls.length], requests[k]);
          if (outcome === 'accepted' || outcome === 'duplicate' || attempt >= 20) {
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
            break;
          }
          outcomes.retried = (outcomes.retried ?? 0) + 1;
          await sleep(20);
        }
        last = performance.now();
        answers.push(last - started);
        if (++done % tenth === 0) await reply({ type: 'progress', done, total: requests.length });
      }
    }),
  );
  agent.destroy();
  const durationS = (last - t0) / 1000;
  const ok = (outcomes.accepted ?? 0) + (outcomes.duplicate ?? 0);
  return { sent: requests.length, durationS, perSecond: ok / durationS, answer: summarize(answers), outcomes };
}

import http from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { receive, reply, runTool, sleep, summarize, wallMs, type LatencySummary, type Message } from './common.js';
import { signedRequest, type PlannedEvent } from './events.js';
import { TRACE_STAGES, type StatusTrace } from '../src/lib/trace.js';

/**
 * The subscriber swarm (scenarios 2 and 4): one graphql-ws client (`createClient`,
 * `ws` as the socket) and one socket per subscriber, as browser UIs do, each
 * authenticated by its deposit's client token and subscribed to that deposit.
 *
 * For scenario 2 the same process also sends the webhooks, paced at a fixed
 * rate, so the send time and the receipt time come from one clock: latency is
 * receipt of the `next` message minus the moment the POST was written.
 *
 * IPC: ← job {wsUrl, subs} → subscribed; [← send {webhookUrl, events, rate} → e2e]; ← close → closed.
 */

export interface SwarmJob extends Message {
  type: 'job';
  wsUrl: string;
  subs: { depositId: string; clientToken: string }[];
  /** Sockets being opened at once. */
  connectConcurrency: number;
}

export interface SendJob extends Message {
  type: 'send';
  webhookUrl: string;
  events: PlannedEvent[];
  rate: number;
  /** How long to wait for the last deliveries after the last send. */
  drainMs: number;
}

interface PaceResult {
  sent: number;
  sendSeconds: number;
  sendRate: number;
  webhookStatus: Record<string, number>;
  webhookLatency: LatencySummary;
}

export interface E2EResult extends Message, PaceResult {
  type: 'e2e';
  delivered: number;
  missing: number;
  latency: LatencySummary;
  errors: number;
  firstError?: string;
  /** With STATUS_TRACE=1 on the app: per stage, from `sent` to it and from the stage before it (absent stages skipped). */
  stages: StageSummary[];
  /** Changes received with a trace in `extensions`. */
  traced: number;
}

export interface StageSummary {
  stage: string;
  /** How many changes had this stage stamped. */
  count: number;
  sinceSent: LatencySummary;
  /** From the previous stamped stage of the same change. */
  gap: LatencySummary;
}

/** The stages in order: the client's send, the app's stamps (`src/lib/trace.ts`), the client's receipt. */
const STAGES = ['sent', ...TRACE_STAGES, 'delivered'] as const;

const QUERY = `subscription Watch($id: ID!) {
  depositStatusChanged(depositId: $id) { cursor status previousStatus deposit { id status receivedAmount paymentState } }
}`;

interface Change {
  depositStatusChanged: { status: string; deposit: { id: string } };
}

runTool(async () => {
  const job = await receive<SwarmJob>('job');
  const clients: Client[] = [];
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  /** Per received change with a trace: its stamps by stage (ms on the shared clock). */
  const traces: Partial<Record<(typeof STAGES)[number], number>>[] = [];
  let errors = 0;
  let firstError: string | undefined;

  const started = performance.now();
  let opened = 0;
  const open = async (s: { depositId: string; clientToken: string }) => {
    await new Promise<void>((resolve) => {
      const client = createClient({
        url: job.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { clientToken: s.clientToken },
        retryAttempts: 0,
        lazy: true,
        on: {
          connected: () => resolve(),
          closed: () => resolve(),
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
            const t = sentAt.get(`${c.deposit.id}|${c.status}`);
            if (t !== undefined) {
              latencies.push(now - t);
              const trace = (r.extensions as { trace?: StatusTrace } | undefined)?.trace;
              if (trace) traces.push({ sent: t, ...trace, delivered: now });
            }
          },
          error: (err) => {
            errors++;
            firstError ??= err instanceof Error ? err.message : JSON.stringify(err);
          },
          complete: () => undefined,
        },
      );
    });
    opened++;
  };
  let nextSub = 0;
  await Promise.all(
    Array.from({ length: Math.min(job.connectConcurrency, job.subs.length) }, async () => {
      while (nextSub < job.subs.length) await open(job.subs[nextSub++]);
    }),
  );
  await reply({ type: 'subscribed', opened, errors, firstError, ms: performance.now() - started });

  for (;;) {
    const m = await Promise.race([receive<SendJob>('send'), receive('close')]);
    if (m.type === 'close') break;
    const send = m as SendJob;
    latencies.length = 0;
    traces.length = 0;
    const r = await paceWebhooks(send, sentAt);
    const until = Date.now() + send.drainMs;
    while (latencies.length < r.sent && Date.now() < until) await sleep(20);
    await reply({
      type: 'e2e',
      ...r,
      delivered: latencies.length,
      missing: r.sent - latencies.length,
      latency: summarize(latencies),
      errors,
      firstError,
      stages: stageSummaries(traces),
      traced: traces.length,
    } satisfies E2EResult);
  }
  await Promise.all(clients.map((c) => c.dispose()));
  await reply({ type: 'closed' });
});

/** Sends event i at t0 + i/rate (open loop: a slow answer does not delay the next send). */
async function paceWebhooks(job: SendJob, sentAt: Map<string, number>): Promise<PaceResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const requests = job.events.map((e) => signedRequest(e));
  const url = new URL(job.webhookUrl);
  const status: Record<string, number> = {};
  const webhookLatencies: number[] = [];
  const interval = 1000 / job.rate;
  let i = 0;
  let inFlight = 0;
  let lastSendAt = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const sendOne = (k: number) => {
      const e = job.events[k];
      const r = requests[k];
      inFlight++;
      const t = performance.now();
      lastSendAt = t;
      sentAt.set(`${e.depositId}|${e.status}`, wallMs());
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: r.path,
          method: 'POST',
          agent,
          headers: { ...r.headers, 'content-length': Buffer.byteLength(r.body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            webhookLatencies.push(performance.now() - t);
            status[res.statusCode ?? 0] = (status[res.statusCode ?? 0] ?? 0) + 1;
            if (--inFlight === 0 && i >= requests.length) resolve();
          });
        },
      );
      req.on('error', () => {
        status.error = (status.error ?? 0) + 1;
        if (--inFlight === 0 && i >= requests.length) resolve();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      while (i < requests.length && t0 + i * interval <= now) sendOne(i++);
      if (i < requests.length) setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    tick();
  });
  const sendSeconds = (lastSendAt - t0) / 1000;
  agent.destroy();
  return {
    sent: requests.length,
    sendSeconds,
    sendRate: (requests.length - 1) / Math.max(sendSeconds, 1e-9),
    webhookStatus: status,
    webhookLatency: summarize(webhookLatencies),
  };
}

/** Each stage's time since `sent`, and since the stage before it, over the changes that have it. */
function stageSummaries(traces: Partial<Record<(typeof STAGES)[number], number>>[]): StageSummary[] {
  if (traces.length === 0) return [];
  return STAGES.slice(1).map((stage, k) => {
    const sinceSent: number[] = [];
    const gap: number[] = [];
    for (const t of traces) {
      const at = t[stage];
      if (at === undefined || t.sent === undefined) continue;
      sinceSent.push(at - t.sent);
      // The nearest earlier stage this change has.
      for (let j = k; j >= 0; j--) {
        const before = t[STAGES[j]];
        if (before !== undefined) {
          gap.push(at - before);
          break;
        }
      }
    }
    return { stage, count: sinceSent.length, sinceSent: summarize(sinceSent), gap: summarize(gap) };
  });
}

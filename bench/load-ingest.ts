import autocannon from 'autocannon';
import { receive, reply, runTool, summarize, type LatencySummary, type Message, timedAutocannon } from './common.js';
import { signedRequest, type PlannedEvent, type SignedRequest } from './events.js';

/**
 * Load process of scenario 1: POSTs every planned webhook once, as fast as the
 * sidecar answers, over `connections` keep-alive connections (autocannon).
 * Every request is signed before the timed run and carries its own webhook-id.
 *
 * IPC: ← job {url, warmup, events, connections} → ready; ← warmup → warmed; ← go → result.
 */

export interface IngestJob extends Message {
  type: 'job';
  url: string;
  /** Sent first, not measured. */
  warmup: PlannedEvent[];
  events: PlannedEvent[];
  connections: number;
}

export interface IngestResult extends Message {
  type: 'result';
  sent: number;
  durationS: number;
  perSecond: number;
  latency: LatencySummary;
  /** Every latency (ms), so rounds can be pooled. */
  samples: number[];
  outcomes: Record<string, number>;
  errors: number;
}

runTool(async () => {
  const job = await receive<IngestJob>('job');
  const warmup = job.warmup.map((e) => signedRequest(e));
  const prepared = job.events.map((e) => signedRequest(e));
  await reply({ type: 'ready', count: prepared.length });
  await receive('warmup');
  if (warmup.length > 0) await blast(job.url, warmup, job.connections);
  await reply({ type: 'warmed' });
  await receive('go');
  await reply(await blast(job.url, prepared, job.connections));
});

/** Every prepared request once, `connections` at a time, each connection sending its next as soon as answered. */
async function blast(url: string, prepared: SignedRequest[], connections: number): Promise<IngestResult> {
  let next = 0;
  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  const instance = autocannon({
    url,
    method: 'POST',
    connections,
    amount: prepared.length,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        // autocannon builds each request just before sending it: each one takes the next prepared event.
        setupRequest: (req) => {
          const r = prepared[next++];
          if (!r) throw new Error('more requests built than prepared');
          return { ...req, path: r.path, headers: r.headers, body: r.body };
        },
        onResponse: (status, body) => {
          const key = status === 200 ? (/"status":"(\w+)"/.exec(body)?.[1] ?? '200') : String(status);
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        },
      },
    ],
  });
  const { result, durationS } = await timedAutocannon(instance, latencies);
  return {
    type: 'result',
    sent: result.requests.total,
    durationS,
    perSecond: (outcomes.accepted ?? 0) / durationS,
    latency: summarize(latencies),
    samples: latencies,
    outcomes,
    errors: result.errors,
  };
}

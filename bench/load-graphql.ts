import autocannon from 'autocannon';
import { receive, reply, runTool, summarize, type LatencySummary, type Message, timedAutocannon } from './common.js';

/**
 * Load process of scenario 3: one GraphQL request over HTTP, repeated as fast as
 * the gateway answers for `durationS` over `connections` keep-alive connections
 * (autocannon), after a `warmupS` run whose numbers are thrown away.
 *
 * IPC: ← job {url, apiKey, query, connections, durationS, warmupS, [idempotencyKeys], [handshake]} → [warmed, ← go] → result.
 */

export interface GraphqlJob extends Message {
  type: 'job';
  url: string;
  apiKey: string;
  query: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** Each request with an `Idempotency-Key` of its own (never a replay): createDeposit's transaction path. */
  idempotencyKeys?: boolean;
  /** After the warm-up: answer `warmed` and wait for `go`, so the orchestrator can meter the measured run alone. */
  handshake?: boolean;
}

export interface GraphqlResult extends Message {
  type: 'result';
  requests: number;
  ok: number;
  failed: number;
  firstFailure?: string;
  durationS: number;
  perSecond: number;
  latency: LatencySummary;
}

runTool(async () => {
  const job = await receive<GraphqlJob>('job');
  if (job.warmupS > 0) await run(job, job.warmupS);
  if (job.handshake) {
    await reply({ type: 'warmed' });
    await receive('go');
  }
  await reply(await run(job, job.durationS));
});

async function run(job: GraphqlJob, durationS: number): Promise<GraphqlResult> {
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const latencies: number[] = [];
  const keyPrefix = `bench-${process.pid}-${Date.now()}-`;
  let keys = 0;
  const instance = autocannon({
    url: `${job.url}/graphql`,
    method: 'POST',
    connections: job.connections,
    duration: durationS,
    headers: { 'content-type': 'application/json', 'x-api-key': job.apiKey },
    body: JSON.stringify({ query: job.query }),
    requests: [
      {
        // Each request its own key; without keys the request is left as it is.
        setupRequest: (req) =>
          job.idempotencyKeys
            ? { ...req, headers: { ...req.headers, 'idempotency-key': `${keyPrefix}${keys++}` } }
            : req,
        onResponse: (status, body) => {
          // A GraphQL failure may come with 200: a request counts only if it has data and no errors.
          if (status === 200 && body.includes('"data"') && !body.includes('"errors"')) ok++;
          else {
            failed++;
            firstFailure ??= `${status} ${body.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  const { result, durationS: elapsed } = await timedAutocannon(instance, latencies);
  return {
    type: 'result',
    requests: result.requests.total,
    ok,
    failed: failed + result.errors,
    firstFailure,
    durationS: elapsed,
    perSecond: ok / elapsed,
    latency: summarize(latencies),
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { CreateDepositDocument } from '../generated/graphql.js';
import { fixtureFor } from '../fixtures/index.js';
import { freePort, REDIS_URL, SECRETS, TEST_API_KEY, type GraphQLResponse, type TestDatabase } from './harness.js';
import { signedHeaders } from './signing.js';

/**
 * The app as separate OS processes, started the way operators start it
 * (`tsx src/main.ts <role>`, configured by the environment), for tests that need
 * several gateways and sidecars on one database and one Redis.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// One process, as in production: tsx as an import hook of the test's own node (Node 22 whatever PATH says).
// (tsx's CLI would run the app as its child and SIGKILL it when a signal handshake is late.)

export type ProcessRole = 'gateway' | 'webhooks' | 'all';

export interface SpawnOptions {
  /** Absent: DATABASE_URL stays unset and the app runs its embedded PostgreSQL (give EMBEDDED_PG_DIR in `env`). */
  database?: TestDatabase;
  /** Redis key prefix shared by every process that must see the same pub/sub. */
  prefix: string;
  redisUrl?: string;
  /** For a gateway: the sidecar that sandbox payments are posted to. */
  webhookUrl?: string;
  env?: Record<string, string>;
  /** How long to wait for `/readyz` to answer 200 (Redis may be down on purpose: then pass `ready: 'healthz'`). */
  readyTimeoutMs?: number;
  ready?: 'readyz' | 'healthz';
  /**
   * Its own process group, as a shell gives `npm start`: `process.kill(-pid, 'SIGINT')` then reaches the
   * app and every child it left in that group, as a terminal's Ctrl-C does.
   */
  detached?: boolean;
  /** What node runs, before the role (default: the TypeScript sources through tsx). */
  entry?: string[];
}

export interface AppProcess {
  role: ProcessRole;
  pid: number;
  /** Base URL of the gateway (roles gateway and all). */
  gatewayUrl: string;
  /** Base URL of the sidecar (roles webhooks and all). */
  webhookUrl: string;
  /** Everything the process wrote (JSON log lines), for failure messages. */
  output(): string;
  /** Value of a Prometheus gauge or counter without labels on this process's `/metrics`. */
  metric(name: string): Promise<number | undefined>;
  /**
   * Sum of a labelled metric's series on this process's `/metrics` whose labels include every one of
   * `labels` (`merchant_webhook_deliveries_total`, `{ outcome: 'succeeded' }`); 0 when there is none.
   */
  metricSum(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGKILL (a crash: no shutdown, nothing flushed), then waits until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** Waits for the process to exit by itself (after a signal the test sent); its exit code, null if a signal ended it. */
  waitForExit(timeoutMs?: number): Promise<number | null>;
}

export async function spawnApp(role: ProcessRole, o: SpawnOptions): Promise<AppProcess> {
  const [port, webhookPort] = [await freePort(), await freePort()];
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const ownWebhookUrl = `http://127.0.0.1:${webhookPort}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    WEBHOOK_PORT: String(webhookPort),
    PUBLIC_URL: gatewayUrl,
    WEBHOOK_URL: o.webhookUrl ?? ownWebhookUrl,
    ...(o.database && { DATABASE_URL: o.database.url }),
    REDIS_URL: o.redisUrl ?? REDIS_URL,
    REDIS_KEY_PREFIX: o.prefix,
    BOOTSTRAP_API_KEY: TEST_API_KEY,
    LOG_LEVEL: 'warn',
    SWEEP_INTERVAL_MS: '200',
    DB_POOL_MAX: '4',
    WEBHOOK_SECRET_SANDBOX: SECRETS.sandbox,
    WEBHOOK_SECRET_LAYER1: SECRETS.layer1,
    WEBHOOK_SECRET_DEPASIFY: SECRETS.depasify,
    WEBHOOK_SECRET_FINRAX: SECRETS.finrax,
    WEBHOOK_SECRET_INSTAP: SECRETS.instap,
    ...o.env,
  };
  const child = spawn(
    process.execPath,
    ['--experimental-async-context-frame', ...(o.entry ?? ['--import', 'tsx', 'src/main.ts']), role],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: o.detached ?? false,
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const listensOn = role === 'webhooks' ? ownWebhookUrl : gatewayUrl;
  const proc: AppProcess = {
    role,
    pid: child.pid!,
    gatewayUrl,
    webhookUrl: ownWebhookUrl,
    output: () => output,
    async metric(name) {
      const text = await (await fetch(`${listensOn}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.slice(name.length + 1));
    },
    async metricSum(name, labels = {}) {
      const text = await (await fetch(`${listensOn}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
        const labelText = line.startsWith(`${name}{`) ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
        if (wanted.every((w) => labelText.split(',').includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return sum;
    },
    stop: (graceMs = 15_000) => stopChild(child, exited, graceMs),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    waitForExit: (timeoutMs = 30_000) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`${role} process did not exit within ${timeoutMs} ms\n${output}`)),
            timeoutMs,
          ).unref(),
        ),
      ]),
  };
  try {
    await waitForHttp(`${listensOn}/${o.ready ?? 'readyz'}`, exited, o.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await proc.stop(2000);
    throw new Error(`${role} process did not become ready: ${(err as Error).message}\n${output}`);
  }
  return proc;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceMs: number) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

async function waitForHttp(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code ?? -1));
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (gone !== undefined) throw new Error(`exited with code ${gone} before ${url} answered 200`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends a typed document to a gateway over HTTP, with the test tenant's API key. */
export async function gqlAt<TResult, TVars>(
  gatewayUrl: string,
  doc: TypedDocumentNode<TResult, TVars>,
  variables?: TVars,
  apiKey: string = TEST_API_KEY,
): Promise<GraphQLResponse<TResult>> {
  const res = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ query: print(doc), variables }),
  });
  const json = (await res.json()) as GraphQLResponse<TResult>;
  return { status: res.status, data: json.data, errors: json.errors };
}

/** POSTs a raw body to a sidecar, as a provider does. */
export async function postWebhookTo(
  webhookUrl: string,
  provider: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${webhookUrl}/webhooks/${provider}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, json };
}

/** Resolves once `fn()` returns `want` (polling), or rejects after `timeoutMs` with the last value seen. */
export async function waitForValue<T>(
  fn: () => Promise<T>,
  want: T,
  timeoutMs = 15_000,
  what = 'value',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last === want) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`${what} was not ${String(want)} within ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: a crash, nothing saved) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
}

/**
 * A private `redis-server` on a free port, never persisting anything: for outage tests that must not
 * touch the shared Redis other test files use.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const start = async () => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const gone = new Promise((resolve) => c.once('exit', resolve));
    child = c;
    exited = gone;
    const until = Date.now() + 10_000;
    for (;;) {
      if (await canConnect(port)) return;
      if (c.exitCode !== null) throw new Error(`redis-server exited (${c.exitCode}): ${err}`);
      if (Date.now() > until) throw new Error(`redis-server did not listen on ${port} within 10 s: ${err}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await start();
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await start();
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A layer1 deposit of 0.20 ETH (the seed's amount) made through a gateway process: its id and client token. */
export async function createLayer1DepositAt(
  gatewayUrl: string,
  userId: string,
): Promise<{ id: string; clientToken: string }> {
  const r = await gqlAt(gatewayUrl, CreateDepositDocument, {
    input: { userId, currency: 'ETH', amount: '0.20', provider: 'layer1' },
  });
  if (r.errors) throw new Error(`createDeposit failed: ${JSON.stringify(r.errors)}`);
  return { id: r.data!.createDeposit.deposit.id, clientToken: r.data!.createDeposit.clientToken };
}

/** Posts a layer1 fixture for `depositId`, signed, to a sidecar; anything but `accepted` throws. */
export async function postLayer1At(webhookUrl: string, depositId: string, fixture: string): Promise<void> {
  const body = fixtureFor(fixture, depositId);
  const res = await postWebhookTo(webhookUrl, 'layer1', body, signedHeaders(SECRETS.layer1, body));
  if (res.status !== 200 || (res.json as { status?: string }).status !== 'accepted') {
    throw new Error(`layer1 webhook not accepted: ${res.status} ${JSON.stringify(res.json)}`);
  }
}

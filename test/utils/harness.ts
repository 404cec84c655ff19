import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startApp, type Role, type RunningApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';

/**
 * Integration tests run against the real PostgreSQL and Redis of the machine.
 * Each test file gets its own database and its own Redis key prefix, so files
 * (and runs) never see each other's data.
 */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const TEST_API_KEY = 'test_api_key_0123456789abcdef';
/** The tenant `default`'s OPERATOR key in tests (BOOTSTRAP_OPERATOR_KEY): `t.gql(doc, vars, { apiKey: TEST_OPERATOR_KEY })`. */
export const TEST_OPERATOR_KEY = 'test_operator_key_0123456789abcdef';

/** Standard Webhooks secrets (`whsec_` + base64) and instap's raw key used by every test app. */
export const SECRETS = {
  sandbox: 'whsec_c2FuZGJveC10ZXN0LXNlY3JldC1rZXktMDEyMzQ1Njc=',
  layer1: 'whsec_bGF5ZXIxLXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5',
  depasify: 'whsec_ZGVwYXNpZnktdGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3',
  finrax: 'whsec_ZmlucmF4LXRlc3Qtc2VjcmV0LWtleS0wMTIzNDU2Nzg5',
  instap: 'instap-webhook-test-secret',
} as const;

export function uniqueName(label: string): string {
  return `${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the local server; `drop()` removes it (terminating stragglers). */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `gw_${uniqueName(label)}`;
  await adminQuery(`create database "${name}"`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await adminQuery(`drop database if exists "${name}" with (force)`);
    },
  };
}

/** One statement as the admin user on the server's `postgres` database (create/drop database). */
/** Deletes every key under `prefix` on the shared Redis (a test file's own keys, at its end). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestAppOptions {
  role?: Role;
  /** Reuse a database (several processes on one database); a new one is made otherwise. */
  database?: TestDatabase;
  /** Reuse a prefix (processes that must share pub/sub); a new one is made otherwise. */
  prefix?: string;
  /** Extra environment, e.g. `{ DEPOSIT_TTL_SECONDS: '2' }` or a proxy's DATABASE_URL. */
  env?: Record<string, string>;
  background?: boolean;
  /** Where the app's JSON log lines go (default: stdout, silent unless TEST_LOG_LEVEL is set). */
  logStream?: NodeJS.WritableStream;
}

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestApp {
  app: RunningApp;
  db: TestDatabase;
  prefix: string;
  gatewayUrl: string;
  webhookUrl: string;
  apiKey: string;
  /** An OPERATOR key of the same tenant (`default`). */
  operatorKey: string;
  /** A direct Redis client for assertions (TTL, flush of this prefix...). */
  redis: Redis;
  /** Sends a typed document over HTTP as a client would. */
  gql<TResult, TVars>(
    doc: TypedDocumentNode<TResult, TVars>,
    variables?: TVars,
    opts?: { apiKey?: string | null; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<TResult>>;
  /** POSTs a raw body to the sidecar. */
  postWebhook(
    provider: string,
    body: string | Buffer,
    headers: Record<string, string>,
  ): Promise<{ status: number; json: any }>;
  /** Deletes every Redis key of this prefix (a "Redis flush" for this file only). */
  flushRedis(): Promise<void>;
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  stop(opts?: { keepDatabase?: boolean }): Promise<void>;
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.database ?? (await createTestDatabase('app'));
  const prefix = opts.prefix ?? `test:${uniqueName('p')}:`;
  const [port, webhookPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    WEBHOOK_PORT: String(webhookPort),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    WEBHOOK_URL: `http://127.0.0.1:${webhookPort}`,
    DATABASE_URL: db.url,
    REDIS_URL: REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    BOOTSTRAP_API_KEY: TEST_API_KEY,
    BOOTSTRAP_OPERATOR_KEY: TEST_OPERATOR_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SWEEP_INTERVAL_MS: '200',
    DB_POOL_MAX: '6',
    WEBHOOK_SECRET_SANDBOX: SECRETS.sandbox,
    WEBHOOK_SECRET_LAYER1: SECRETS.layer1,
    WEBHOOK_SECRET_DEPASIFY: SECRETS.depasify,
    WEBHOOK_SECRET_FINRAX: SECRETS.finrax,
    WEBHOOK_SECRET_INSTAP: SECRETS.instap,
    ...opts.env,
  };
  const config = loadConfig(env);
  const logger = createLogger(config.logLevel, opts.logStream);
  const app = await startApp(config, opts.role ?? 'all', { logger, background: opts.background });
  const redis = new Redis(REDIS_URL, { lazyConnect: false });
  const gatewayUrl = `http://127.0.0.1:${app.gatewayPort ?? port}`;
  const webhookUrl = `http://127.0.0.1:${app.webhookPort ?? webhookPort}`;
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  // Dropping the database (with force) at the end may terminate a connection still closing.
  pool.on('error', () => undefined);

  const flushRedis = async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  };
  return {
    app,
    db,
    prefix,
    gatewayUrl,
    webhookUrl,
    apiKey: TEST_API_KEY,
    operatorKey: TEST_OPERATOR_KEY,
    redis,
    async gql(doc, variables, o = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
      const key = o.apiKey === undefined ? TEST_API_KEY : o.apiKey;
      if (key !== null) headers['x-api-key'] = key;
      const res = await fetch(`${gatewayUrl}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: print(doc), variables }),
      });
      const json = (await res.json()) as GraphQLResponse<never>;
      return { status: res.status, data: json.data, errors: json.errors };
    },
    async postWebhook(provider, body, headers) {
      const res = await fetch(`${webhookUrl}/webhooks/${provider}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, json };
    },
    flushRedis,
    async sql(text, params) {
      return (await pool.query(text, params)).rows;
    },
    async stop(o = {}) {
      await app.close();
      await pool.end();
      await flushRedis().catch(() => undefined);
      redis.disconnect();
      if (!o.keepDatabase && !opts.database) await db.drop();
    },
  };
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes (for effects applied just after a 200). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 5000,
  stepMs = 25,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * `promise`, or a failure naming `what` if it has not settled after `timeoutMs`. For a step that
 * can only end if the code under test does something (aborts a request, gives up on a server that
 * never answers): without it a regression hangs until the test's timeout with no message. The
 * bound is generous on purpose: it is a deadline for a wait, not a measure of speed.
 */
export async function settlesWithin<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

import { createHash, createHmac, randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify from 'fastify';
import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import pg from 'pg';
import { receive, reply, type Message } from './common.js';

/**
 * The baseline of scenario 3: createDeposit as a competent engineer would write it by hand for
 * the same job, with none of the app's code (so that no change to the app can move it), the way
 * bench/baseline-sql.ts is for ingest. Apollo Server 5 on fastify through
 * @as-integrations/fastify, as the app runs (the framework is a choice both sides share, so the
 * ratio measures what the app adds, not fastify against node:http), one resolver, SDL schema.
 *
 * Per request, the same work the app does on its hot path:
 * - the API key: sha256 of `x-api-key`, looked up in a map kept 5 s, else one query of
 *   `api_key` joined with `tenant` (the app caches the same lookup for 5 s);
 * - a check of the input (user id, currency, decimal amount), by hand, no schema library;
 * - the user's verification: one prepared `select` of `user_verification`;
 * - the Redis intent (`SET … EX`) and the deposit insert (with its row in `deposit_sync`, as the
 *   app enrols deposits of a provider with a status API), issued concurrently;
 * - with `Idempotency-Key`: begin, the key's row inserted (`on conflict do nothing`), the deposit,
 *   commit; a key already there answers the deposit it names (or refuses another input);
 * - the client token (HMAC-SHA256 of the deposit id) and one log line per request.
 *
 * Run as a child of bench/create-scenario.ts: IPC ← job {BaselineCreateJob} → ready {port}; stops on SIGTERM.
 */

export interface BaselineCreateJob extends Message {
  type: 'job';
  databaseUrl: string;
  redisUrl: string;
  /** Redis key prefix (the bench run's), intents under `{prefix}intent:`. */
  redisPrefix: string;
  port: number;
  /** The app's client-token key (`app_secret` client_token_key), so the token costs the same. */
  tokenKey: string;
  publicUrl: string;
  ttlSeconds: number;
  /** The app's default automatic sync schedule: first sync after, give up after (seconds). */
  syncAfterSeconds: number;
  syncGiveUpSeconds: number;
  poolSize: number;
  logLevel: string;
}

const typeDefs = `#graphql
  scalar DateTime
  enum DepositStatus { PENDING DETECTED CONFIRMING CONFIRMED SCREENING COMPLETED REJECTED EXPIRED FAILED REVERSED }
  input CreateDepositInput {
    userId: String!
    currency: String!
    amount: String
    minAmount: String
    maxAmount: String
    provider: String
    redirectUrl: String
  }
  type Deposit {
    id: ID!
    userId: String!
    provider: String!
    currency: String!
    amount: String
    status: DepositStatus!
    checkoutUrl: String
    expiresAt: String!
    createdAt: String!
  }
  type CreateDepositPayload { deposit: Deposit!, clientToken: String! }
  type Query { health: String }
  type Mutation { createDeposit(input: CreateDepositInput!): CreateDepositPayload! }
`;

interface Ctx {
  tenantId: string;
  idempotencyKey?: string;
}

interface Input {
  userId: string;
  currency: string;
  amount?: string | null;
  minAmount?: string | null;
  maxAmount?: string | null;
  provider?: string | null;
  redirectUrl?: string | null;
}

interface Row {
  id: string;
  user_id: string;
  provider: string;
  currency: string;
  amount: string | null;
  status: string;
  checkout_url: string | null;
  expires_at: Date;
  created_at: Date;
}

const DECIMAL = /^\d{1,18}(\.\d{1,18})?$/;

function badInput(field: string, message: string): GraphQLError {
  return new GraphQLError(`${field} ${message}`, { extensions: { code: 'BAD_USER_INPUT', field } });
}

const job = await receive<BaselineCreateJob>('job');
const pool = new pg.Pool({ connectionString: job.databaseUrl, max: job.poolSize });
pool.on('error', () => undefined);
const redis = new Redis(job.redisUrl);

const keys = new Map<string, { tenantId: string | null; until: number }>();
async function tenantOf(apiKey: string): Promise<string | null> {
  const hash = createHash('sha256').update(apiKey).digest('hex');
  const hit = keys.get(hash);
  if (hit && hit.until > Date.now()) return hit.tenantId;
  const r = await pool.query<{ tenant_id: string }>({
    name: 'key',
    text: 'select k.tenant_id from api_key k join tenant t on t.id = k.tenant_id where k.key_hash = $1 and k.revoked_at is null',
    values: [hash],
  });
  const tenantId = r.rows[0]?.tenant_id ?? null;
  keys.set(hash, { tenantId, until: Date.now() + 5000 });
  return tenantId;
}

const INSERT = `with d as (
    insert into deposit (id, tenant_id, user_id, provider, currency, amount, min_amount, max_amount, status,
      checkout_url, redirect_url, expires_at)
    values ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, now() + make_interval(secs => $11))
    returning id, user_id, provider, currency, amount, status, checkout_url, expires_at, created_at),
  s as (insert into deposit_sync (deposit_id, provider, next_sync_at, interval_seconds, give_up_at)
    select id, provider, created_at + make_interval(secs => $12::int), $12::int, expires_at + make_interval(secs => $13::int) from d)
  select * from d`;

async function createDeposit(input: Input, ctx: Ctx) {
  if (!input.userId || input.userId.length > 4000) throw badInput('userId', 'must be 1 to 4000 characters');
  if (!/^[A-Z]{3,10}$/.test(input.currency)) throw badInput('currency', 'must be 3 to 10 upper-case letters');
  const amount = input.amount ?? null;
  if (amount !== null && (!DECIMAL.test(amount) || Number(amount) <= 0)) throw badInput('amount', 'must be > 0');
  const min = amount === null ? (input.minAmount ?? '10') : null;
  const max = amount === null ? (input.maxAmount ?? '5000') : null;
  const provider = input.provider ?? 'sandbox';
  if (provider !== 'sandbox') throw badInput('provider', 'only sandbox here');
  if (ctx.idempotencyKey !== undefined && (ctx.idempotencyKey.length < 1 || ctx.idempotencyKey.length > 255)) {
    throw badInput('Idempotency-Key', 'must be 1 to 255 characters');
  }

  const rejected = await pool.query({
    name: 'verification',
    text: `select 1 from user_verification where user_id = $1 and status = 'REJECTED'`,
    values: [input.userId],
  });
  if (rejected.rows.length > 0)
    throw new GraphQLError('user not verified', { extensions: { code: 'USER_NOT_VERIFIED' } });

  const id = randomUUID();
  const values = [
    id,
    ctx.tenantId,
    input.userId,
    provider,
    input.currency,
    amount,
    min,
    max,
    `${job.publicUrl}/sandbox/checkout/${id}`,
    input.redirectUrl ?? null,
    job.ttlSeconds,
    job.syncAfterSeconds,
    job.syncGiveUpSeconds,
  ];
  const intent = JSON.stringify({
    depositId: id,
    tenantId: ctx.tenantId,
    userId: input.userId,
    currency: input.currency,
    amount,
    minAmount: min,
    maxAmount: max,
  });
  const putIntent = redis.set(`${job.redisPrefix}intent:${id}`, intent, 'EX', job.ttlSeconds);

  let row: Row;
  if (ctx.idempotencyKey === undefined) {
    const [, r] = await Promise.all([putIntent, pool.query<Row>({ name: 'insert', text: INSERT, values })]);
    row = r.rows[0];
  } else {
    const hash = createHash('sha256')
      .update(JSON.stringify([input.userId, input.currency, amount, min, max, provider, input.redirectUrl ?? null]))
      .digest('hex');
    const c = await pool.connect();
    try {
      await c.query('begin');
      const claimed = await c.query({
        name: 'claim',
        text: `insert into idempotency_key (id, tenant_id, key, request_hash, deposit_id, expires_at)
          values ($1, $2, $3, $4, $5, now() + interval '24 hours') on conflict (tenant_id, key) do nothing returning id`,
        values: [randomUUID(), ctx.tenantId, ctx.idempotencyKey, hash, id],
      });
      if (claimed.rows.length === 0) {
        const earlier = await c.query<Row & { request_hash: string }>({
          name: 'earlier',
          text: `select k.request_hash, d.id, d.user_id, d.provider, d.currency, d.amount, d.status, d.checkout_url,
              d.expires_at, d.created_at
            from idempotency_key k join deposit d on d.id = k.deposit_id where k.tenant_id = $1 and k.key = $2`,
          values: [ctx.tenantId, ctx.idempotencyKey],
        });
        await c.query('commit');
        await putIntent.then(() => redis.del(`${job.redisPrefix}intent:${id}`));
        if (earlier.rows[0].request_hash !== hash) {
          throw new GraphQLError('Idempotency-Key reused with another input', {
            extensions: { code: 'IDEMPOTENCY_KEY_REUSED' },
          });
        }
        row = earlier.rows[0];
      } else {
        const [, r] = await Promise.all([putIntent, c.query<Row>({ name: 'insert', text: INSERT, values })]);
        await c.query('commit');
        row = r.rows[0];
      }
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
  const token = `ct_${row.id}.${createHmac('sha256', job.tokenKey).update(`client-token:${row.id}`).digest('base64url')}`;
  return {
    clientToken: token,
    deposit: {
      id: row.id,
      userId: row.user_id,
      provider: row.provider,
      currency: row.currency,
      amount: row.amount,
      status: row.status,
      checkoutUrl: row.checkout_url,
      expiresAt: new Date(row.expires_at).toISOString(),
      createdAt: new Date(row.created_at).toISOString(),
    },
  };
}

const app = Fastify({ logger: { level: job.logLevel }, disableRequestLogging: true, bodyLimit: 1024 * 1024 });
app.addHook('onResponse', (request, res, done) => {
  request.log.info({ method: request.method, url: request.url, statusCode: res.statusCode }, 'request completed');
  done();
});
const apollo = new ApolloServer<Ctx>({
  typeDefs,
  resolvers: {
    Mutation: {
      createDeposit: (_: unknown, args: { input: Input }, ctx: Ctx) => createDeposit(args.input, ctx),
    },
  },
  plugins: [fastifyApolloDrainPlugin(app), ApolloServerPluginLandingPageDisabled()],
});
await apollo.start();
const handler = fastifyApolloHandler(apollo, {
  context: async (request) => {
    const key = request.headers['x-api-key'];
    const tenantId = typeof key === 'string' ? await tenantOf(key) : null;
    if (!tenantId) {
      throw new GraphQLError('invalid API key', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    const idem = request.headers['idempotency-key'];
    return { tenantId, idempotencyKey: typeof idem === 'string' ? idem : undefined };
  },
});
app.route({ url: '/graphql', method: ['GET', 'POST', 'OPTIONS'], handler });
app.get('/readyz', async () => 'ok');

await app.listen({ port: job.port, host: '127.0.0.1' });
await reply({ type: 'ready', port: job.port });

process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => Promise.all([pool.end(), redis.quit()]))
    .finally(() => process.exit(0));
});

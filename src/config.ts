import { z } from 'zod';
import { httpUrl, stripSlash } from './lib/env.js';
import { DEFAULT_RETRY_SCHEDULE, parseRetrySchedule, type RetrySchedule } from './lib/outbound/retry-schedule.js';
import {
  PROVIDER_NAMES,
  PROVIDERS,
  type ProviderApis,
  type ProviderName,
  type ProviderSecrets,
} from './providers/index.js';
import type { EnvValues } from './providers/provider.js';
import { starterNeeds } from './providers/registry.js';
import { sandbox } from './providers/sandbox.provider.js';

/**
 * The environment, parsed once. Nothing else in the code base reads `process.env`:
 * every module receives the typed `Config` (or the part of it it needs). The variables
 * here are the core's; each provider declares its own (`providers/<name>.provider.ts`),
 * merged in by looping over the provider list.
 */

// Digits only: z.coerce would read " " as 0 (a random port) and "1e3" as 1000.
const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number 0-65535')
  .transform(Number)
  .pipe(z.number().max(65535, 'must be a port number 0-65535'));
const positiveInt = z.coerce.number().int().positive();

const CoreEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Default by NODE_ENV (see loadConfig): loopback outside production, every interface under it. */
  HOST: z.string().regex(/^\S+$/, 'must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0').optional(),
  PORT: port.default(4000),
  WEBHOOK_PORT: port.default(4100),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Prefix of every Redis key and channel: several deployments (or test files) can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 : _ -')
    .default('dgw:'),
  /** Where the embedded PostgreSQL keeps its files when DATABASE_URL is unset. */
  EMBEDDED_PG_DIR: z.string().min(1).default('.data/postgres'),
  DB_POOL_MAX: positiveInt.default(20),
  /** Bounds every statement so a hanging Postgres becomes an error (and a 503) in seconds. */
  DB_STATEMENT_TIMEOUT_MS: positiveInt.default(5000),
  DB_CONNECT_TIMEOUT_MS: positiveInt.default(3000),
  PUBLIC_URL: httpUrl.optional(),
  WEBHOOK_URL: httpUrl.optional(),
  BOOTSTRAP_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  BOOTSTRAP_OPERATOR_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  DEPOSIT_TTL_SECONDS: positiveInt.default(3600),
  IDEMPOTENCY_TTL_HOURS: positiveInt.min(24, 'must be at least 24 (the contract keeps keys 24 hours)').default(24),
  PROVIDER_TIMEOUT_MS: positiveInt.default(6000),
  SWEEP_INTERVAL_MS: positiveInt.default(5000),
  /** Automatic status sync: first after this long without an event, then doubling up to the max, until give-up past expiry. */
  SYNC_AFTER_SECONDS: positiveInt.default(300),
  SYNC_MAX_INTERVAL_SECONDS: positiveInt.default(3600),
  SYNC_GIVE_UP_SECONDS: positiveInt.default(86400),
  /** Status requests in flight per provider, per sidecar. */
  SYNC_CONCURRENCY: positiveInt.max(64).default(4),
  /** Group commit: webhooks per transaction at most, and transactions running at once. */
  WEBHOOK_BATCH_MAX: positiveInt.max(1000).default(32),
  WEBHOOK_TRANSACTIONS: positiveInt.max(100).default(4),
  /** Verified-or-not webhook requests per provider and client address per minute. */
  WEBHOOK_RATE_LIMIT_PER_MINUTE: positiveInt.default(6000),
  /** Diagnostics: each status change carries when it passed each stage (`lib/trace.ts`); off by default. */
  STATUS_TRACE: z.enum(['0', '1'], { error: 'must be 0 or 1' }).default('0'),
  /** The provider of a createDeposit that names none; checked against the configuration in loadConfig. */
  DEFAULT_PROVIDER: z.enum(PROVIDER_NAMES, { error: `must be one of ${PROVIDER_NAMES.join(', ')}` }).optional(),
  /** Merchant webhooks: whether endpoint URLs may reach private, loopback, link-local... addresses (default by NODE_ENV). */
  OUTBOUND_ALLOW_PRIVATE_URLS: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  /** Merchant webhooks: delays in seconds between attempts, comma separated (the contract's schedule when unset). */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .optional()
    .superRefine((text, ctx) => {
      if (text === undefined) return;
      try {
        parseRetrySchedule(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^WEBHOOK_RETRY_SCHEDULE /, '') });
      }
    }),
  /** Merchant webhook requests in flight per sidecar: overall, and to one endpoint. */
  WEBHOOK_MAX_IN_FLIGHT: positiveInt.max(10_000).default(64),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: positiveInt.max(1000).default(8),
  /** How often a dispatcher looks for due deliveries when nothing woke it. */
  WEBHOOK_DISPATCH_POLL_MS: positiveInt.default(500),
  /** One attempt's deadline (the contract's 15 s; shorter only to test). A claim is leased for twice this. */
  WEBHOOK_TIMEOUT_MS: positiveInt
    .max(15_000, 'must be at most 15000 (the contract gives an endpoint 15 seconds)')
    .default(15_000),
});

/** The core's variables and every provider's, in one schema: one pass, one error naming the variable. */
const EnvSchema = CoreEnv.extend(Object.assign({}, ...PROVIDERS.map((p) => p.env.variables)) as z.ZodRawShape);

export type Env = z.infer<typeof CoreEnv>;

/**
 * The configuration: the core's settings, every provider's webhook secret by name
 * (`undefined` for the sandbox in development means "generate one and keep it in the
 * database"), and each provider's API settings under its own name.
 */
export type Config = CoreConfig & ProviderApis & { webhookSecrets: ProviderSecrets };

export interface CoreConfig {
  nodeEnv: Env['NODE_ENV'];
  isProduction: boolean;
  /**
   * Whether the sandbox provider exists: its webhook endpoint, its checkout page, its payments.
   * A development tool (its pay page needs no credentials), so never under production.
   */
  sandboxEnabled: boolean;
  /** The provider of a createDeposit that names none; `undefined`: the caller must name one. */
  defaultProvider?: ProviderName;
  host: string;
  port: number;
  webhookPort: number;
  logLevel: Env['LOG_LEVEL'];
  /** `undefined`: run an embedded PostgreSQL in `embeddedPgDir`. */
  databaseUrl?: string;
  /** `undefined`: in-process intent store and bus (one process only). */
  redisUrl?: string;
  redisKeyPrefix: string;
  embeddedPgDir: string;
  db: { poolMax: number; statementTimeoutMs: number; connectTimeoutMs: number };
  publicUrl: string;
  webhookUrl: string;
  bootstrapApiKey?: string;
  /** An OPERATOR key of the tenant `default` (`dev_local_only_operator_key` outside production). */
  bootstrapOperatorKey?: string;
  depositTtlSeconds: number;
  idempotencyTtlHours: number;
  providerTimeoutMs: number;
  sweepIntervalMs: number;
  sync: { afterSeconds: number; maxIntervalSeconds: number; giveUpSeconds: number; concurrency: number };
  webhookRateLimitPerMinute: number;
  webhookBatchMax: number;
  webhookTransactions: number;
  /** `STATUS_TRACE=1`: status changes carry their stage times (`lib/trace.ts`). */
  statusTrace: boolean;
  /** Merchant webhooks (`services/webhook-dispatcher.ts`). */
  outbound: {
    /** `OUTBOUND_ALLOW_PRIVATE_URLS`: true outside production unless set. */
    allowPrivateUrls: boolean;
    retrySchedule: RetrySchedule;
    maxInFlight: number;
    maxInFlightPerEndpoint: number;
    pollMs: number;
    timeoutMs: number;
  };
}

/** The development API key of the tenant `default` when BOOTSTRAP_API_KEY is unset (never under production). */
export const DEV_API_KEY = 'dev_local_only_api_key';
/** The development OPERATOR key of the tenant `default` when BOOTSTRAP_OPERATOR_KEY is unset (never under production). */
export const DEV_OPERATOR_KEY = 'dev_local_only_operator_key';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment; throws a `ConfigError` whose message is one line naming the variable.
 * @param defaults values used where `env` leaves a variable unset (a CLI's quieter LOG_LEVEL).
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  defaults: Record<string, string> = {},
): Config {
  // Empty strings count as unset, as in most twelve-factor tooling.
  const set = Object.entries(env).filter(([, v]) => v !== undefined && v !== '');
  const cleaned = { ...defaults, ...Object.fromEntries(set) };
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue.path.join('.') || '(environment)';
    throw new ConfigError(`${variable}: ${issue.message}`);
  }
  const e = parsed.data as Env;
  const values = parsed.data as EnvValues;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && (!e.DATABASE_URL || !e.REDIS_URL)) {
    const missing = [!e.DATABASE_URL && 'DATABASE_URL', !e.REDIS_URL && 'REDIS_URL'].filter(Boolean).join(', ');
    throw new ConfigError(
      `${missing}: required under NODE_ENV=production (the embedded defaults are for development only)`,
    );
  }
  const sandboxEnabled = !isProduction;
  const webhookSecrets: ProviderSecrets = {};
  const apis: Record<string, unknown> = {};
  for (const p of PROVIDERS) {
    if (isProduction && !p.productionAllowed) {
      const set = Object.keys(p.env.variables).find((v) => values[v] !== undefined);
      if (set) {
        throw new ConfigError(
          `${set}: the ${p.name} does not exist under NODE_ENV=production (${p.whyNotInProduction}); unset it and set DEFAULT_PROVIDER to a real provider`,
        );
      }
    }
    webhookSecrets[p.name] = values[p.env.secret];
    // An API is configured by all of its variables or not at all.
    if (p.env.api) apis[p.name] = p.env.api.variables.every((v) => values[v]) ? p.env.api.read(values) : undefined;
  }
  if (e.BOOTSTRAP_OPERATOR_KEY && e.BOOTSTRAP_OPERATOR_KEY === e.BOOTSTRAP_API_KEY) {
    throw new ConfigError('BOOTSTRAP_OPERATOR_KEY: must differ from BOOTSTRAP_API_KEY (one key has one role)');
  }
  if (e.DEFAULT_PROVIDER) checkDefaultProvider(e.DEFAULT_PROVIDER, { isProduction, webhookSecrets, apis });
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    sandboxEnabled,
    defaultProvider: e.DEFAULT_PROVIDER ?? (sandboxEnabled ? sandbox.name : undefined),
    // Outside production the API key and the sandbox's pay page are well known: this machine only.
    host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    port: e.PORT,
    webhookPort: e.WEBHOOK_PORT,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    embeddedPgDir: e.EMBEDDED_PG_DIR,
    db: {
      poolMax: e.DB_POOL_MAX,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    },
    publicUrl: stripSlash(e.PUBLIC_URL ?? `http://localhost:${e.PORT}`),
    webhookUrl: stripSlash(e.WEBHOOK_URL ?? `http://127.0.0.1:${e.WEBHOOK_PORT}`),
    // Development gets a well-known key so `npm ci && npm start` can be tried at once; production gets none.
    bootstrapApiKey: e.BOOTSTRAP_API_KEY ?? (isProduction ? undefined : DEV_API_KEY),
    bootstrapOperatorKey: e.BOOTSTRAP_OPERATOR_KEY ?? (isProduction ? undefined : DEV_OPERATOR_KEY),
    depositTtlSeconds: e.DEPOSIT_TTL_SECONDS,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    sync: {
      afterSeconds: e.SYNC_AFTER_SECONDS,
      maxIntervalSeconds: e.SYNC_MAX_INTERVAL_SECONDS,
      giveUpSeconds: e.SYNC_GIVE_UP_SECONDS,
      concurrency: e.SYNC_CONCURRENCY,
    },
    webhookRateLimitPerMinute: e.WEBHOOK_RATE_LIMIT_PER_MINUTE,
    webhookBatchMax: e.WEBHOOK_BATCH_MAX,
    webhookTransactions: e.WEBHOOK_TRANSACTIONS,
    statusTrace: e.STATUS_TRACE === '1',
    outbound: {
      allowPrivateUrls: e.OUTBOUND_ALLOW_PRIVATE_URLS ? e.OUTBOUND_ALLOW_PRIVATE_URLS === 'true' : !isProduction,
      retrySchedule: e.WEBHOOK_RETRY_SCHEDULE ? parseRetrySchedule(e.WEBHOOK_RETRY_SCHEDULE) : DEFAULT_RETRY_SCHEDULE,
      maxInFlight: e.WEBHOOK_MAX_IN_FLIGHT,
      maxInFlightPerEndpoint: e.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT,
      pollMs: e.WEBHOOK_DISPATCH_POLL_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
    webhookSecrets,
    ...(apis as ProviderApis),
  };
}

/**
 * DEFAULT_PROVIDER must be one createDeposit can use as configured (the registry's rules,
 * `starterNeeds`); a development provider's secret may be unset, since one is generated.
 */
function checkDefaultProvider(
  name: ProviderName,
  c: { isProduction: boolean; webhookSecrets: ProviderSecrets; apis: Record<string, unknown> },
): void {
  const p = PROVIDERS.find((m) => m.name === name)!;
  const exists = p.productionAllowed || !c.isProduction;
  const hasSecret = !!c.webhookSecrets[name] || (exists && !!p.generateSecret);
  const needs = starterNeeds(p, { hasSecret, api: c.apis[name], production: c.isProduction });
  if (!needs) return;
  throw new ConfigError(
    exists
      ? `DEFAULT_PROVIDER: createDeposit cannot use ${name} as configured (set ${needs})`
      : `DEFAULT_PROVIDER: the ${name} does not exist under NODE_ENV=production; name a configured provider`,
  );
}

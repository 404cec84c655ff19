import { z } from 'zod';
import { PROVIDER_NAMES, type ProviderName } from './webhooks/providers/provider.js';

/**
 * The environment, parsed once. Nothing else in the code base reads `process.env`:
 * every module receives the typed `Config` (or the part of it it needs).
 */

const whsec = z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be a Standard Webhooks secret: whsec_<base64>');

const optionalNonEmpty = z.string().min(1).optional();
// Digits only: z.coerce would read " " as 0 (a random port) and "1e3" as 1000.
const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number 0-65535')
  .transform(Number)
  .pipe(z.number().max(65535, 'must be a port number 0-65535'));
// Checkout links, callbacks and provider APIs are fetched or opened over HTTP: "localhost:4000" is not one.
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' });
const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
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
  DEPOSIT_TTL_SECONDS: positiveInt.default(3600),
  IDEMPOTENCY_TTL_HOURS: positiveInt.min(24, 'must be at least 24 (the contract keeps keys 24 hours)').default(24),
  PROVIDER_TIMEOUT_MS: positiveInt.default(6000),
  SWEEP_INTERVAL_MS: positiveInt.default(5000),
  /** Group commit: webhooks per transaction at most, and transactions running at once. */
  WEBHOOK_BATCH_MAX: positiveInt.max(1000).default(32),
  WEBHOOK_TRANSACTIONS: positiveInt.max(100).default(4),
  /** Verified-or-not webhook requests per provider and client address per minute. */
  WEBHOOK_RATE_LIMIT_PER_MINUTE: positiveInt.default(6000),
  WEBHOOK_SECRET_SANDBOX: whsec.optional(),
  WEBHOOK_SECRET_LAYER1: whsec.optional(),
  WEBHOOK_SECRET_DEPASIFY: whsec.optional(),
  WEBHOOK_SECRET_FINRAX: whsec.optional(),
  WEBHOOK_SECRET_INSTAP: optionalNonEmpty,
  INSTAP_API_URL: httpUrl.optional(),
  INSTAP_API_KEY: optionalNonEmpty,
  INSTAP_HMAC_SECRET: optionalNonEmpty,
  FINRAX_API_URL: httpUrl.optional(),
  FINRAX_API_KEY: optionalNonEmpty,
  /** The provider of a createDeposit that names none; checked against the configuration in loadConfig. */
  DEFAULT_PROVIDER: z.enum(PROVIDER_NAMES, { error: `must be one of ${PROVIDER_NAMES.join(', ')}` }).optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export interface ProviderSecrets {
  /** `undefined` in development means "generate one and keep it in the database". */
  sandbox?: string;
  layer1?: string;
  depasify?: string;
  finrax?: string;
  instap?: string;
}

export interface Config {
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
  depositTtlSeconds: number;
  idempotencyTtlHours: number;
  providerTimeoutMs: number;
  sweepIntervalMs: number;
  webhookRateLimitPerMinute: number;
  webhookBatchMax: number;
  webhookTransactions: number;
  webhookSecrets: ProviderSecrets;
  instap?: { apiUrl: string; apiKey: string; hmacSecret: string };
  finrax?: { apiUrl: string; apiKey: string };
}

/** The development API key of the tenant `default` when BOOTSTRAP_API_KEY is unset (never under production). */
export const DEV_API_KEY = 'dev_local_only_api_key';

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
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && (!e.DATABASE_URL || !e.REDIS_URL)) {
    const missing = [!e.DATABASE_URL && 'DATABASE_URL', !e.REDIS_URL && 'REDIS_URL'].filter(Boolean).join(', ');
    throw new ConfigError(
      `${missing}: required under NODE_ENV=production (the embedded defaults are for development only)`,
    );
  }
  if (isProduction && e.WEBHOOK_SECRET_SANDBOX) {
    throw new ConfigError(
      'WEBHOOK_SECRET_SANDBOX: the sandbox does not exist under NODE_ENV=production (its pay page needs no credentials); unset it and set DEFAULT_PROVIDER to a real provider',
    );
  }
  const sandboxEnabled = !isProduction;
  const all3 = [e.INSTAP_API_URL, e.INSTAP_API_KEY, e.INSTAP_HMAC_SECRET];
  const fx2 = [e.FINRAX_API_URL, e.FINRAX_API_KEY];
  const instap = all3.every(Boolean)
    ? { apiUrl: stripSlash(e.INSTAP_API_URL!), apiKey: e.INSTAP_API_KEY!, hmacSecret: e.INSTAP_HMAC_SECRET! }
    : undefined;
  const finrax = fx2.every(Boolean) ? { apiUrl: stripSlash(e.FINRAX_API_URL!), apiKey: e.FINRAX_API_KEY! } : undefined;
  const webhookSecrets: ProviderSecrets = {
    sandbox: e.WEBHOOK_SECRET_SANDBOX,
    layer1: e.WEBHOOK_SECRET_LAYER1,
    depasify: e.WEBHOOK_SECRET_DEPASIFY,
    finrax: e.WEBHOOK_SECRET_FINRAX,
    instap: e.WEBHOOK_SECRET_INSTAP,
  };
  if (e.DEFAULT_PROVIDER) {
    const needs = createDepositNeeds(e.DEFAULT_PROVIDER, { sandboxEnabled, webhookSecrets, instap, finrax });
    if (needs) {
      throw new ConfigError(
        e.DEFAULT_PROVIDER === 'sandbox' && !sandboxEnabled
          ? 'DEFAULT_PROVIDER: the sandbox does not exist under NODE_ENV=production; name a configured provider'
          : `DEFAULT_PROVIDER: createDeposit cannot use ${e.DEFAULT_PROVIDER} as configured (set ${needs})`,
      );
    }
  }
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    sandboxEnabled,
    defaultProvider: e.DEFAULT_PROVIDER ?? (sandboxEnabled ? 'sandbox' : undefined),
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
    depositTtlSeconds: e.DEPOSIT_TTL_SECONDS,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    webhookRateLimitPerMinute: e.WEBHOOK_RATE_LIMIT_PER_MINUTE,
    webhookBatchMax: e.WEBHOOK_BATCH_MAX,
    webhookTransactions: e.WEBHOOK_TRANSACTIONS,
    webhookSecrets,
    instap,
    finrax,
  };
}

/**
 * What createDeposit still needs to use `provider` under this configuration (the variables to set,
 * as the contract's table says), or `undefined` when it can: instap all three `INSTAP_*`, finrax both
 * `FINRAX_*`, layer1 and depasify their webhook secret, the sandbox only outside production (its
 * secret is generated when unset). The provider registry builds its starters by the same rules.
 */
export function createDepositNeeds(
  provider: ProviderName,
  c: Pick<Config, 'sandboxEnabled' | 'webhookSecrets' | 'instap' | 'finrax'>,
): string | undefined {
  switch (provider) {
    case 'sandbox':
      return c.sandboxEnabled ? undefined : 'a NODE_ENV other than production; the sandbox is a development tool';
    case 'instap':
      return c.instap ? undefined : 'INSTAP_API_URL, INSTAP_API_KEY, INSTAP_HMAC_SECRET';
    case 'finrax':
      return c.finrax ? undefined : 'FINRAX_API_URL, FINRAX_API_KEY';
    case 'layer1':
      return c.webhookSecrets.layer1 ? undefined : 'WEBHOOK_SECRET_LAYER1';
    case 'depasify':
      return c.webhookSecrets.depasify ? undefined : 'WEBHOOK_SECRET_DEPASIFY';
  }
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/*
 * Longer than 300 lines on purpose: this is the composition root, the one place that builds
 * every service and background worker for a role, so it grows by a few lines with each
 * feature. The helpers below it (database, bus, secrets) keep `wire` a flat list of steps.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { MemoryIntentStore, RedisIntentStore, type IntentStore } from './bus/intent-store.js';
import { createRedis, redisReady } from './bus/redis.js';
import { MemoryStatusBus, RedisStatusBus, type StatusBus } from './bus/status-bus.js';
import { DEV_API_KEY, DEV_OPERATOR_KEY, type Config } from './config.js';
import { createOrm, migrate, poolOf, type DbOptions, type Orm } from './db/orm.js';
import { createSandboxPayments } from './gateway/sandbox-checkout.js';
import { buildGatewaySchema } from './gateway/schema.js';
import { createGateway, type Gateway } from './gateway/server.js';
import { randomKey } from './lib/crypto.js';
import { every, type Stoppable } from './lib/periodic.js';
import { createHealth } from './observability/health.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { PROVIDERS, type ProviderSecrets } from './providers/index.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import { sandbox } from './providers/sandbox.provider.js';
import { ApiKeyService } from './services/api-keys.service.js';
import { sharedSecret } from './services/app-secrets.service.js';
import { EventApplier } from './services/apply/event-applier.js';
import { ClientTokens } from './services/client-token.js';
import { DepositService } from './services/deposits.service.js';
import { LedgerService } from './services/ledger.service.js';
import { ResolutionService } from './services/resolutions.service.js';
import { startSweeper } from './services/expiry-sweeper.js';
import { AutoSync } from './services/auto-sync.js';
import { SyncService } from './services/sync.service.js';
import { recordSandboxPayment } from './store/sandbox-payments.store.js';
import { InboxProcessor } from './services/inbox-processor.js';
import { OutboxRelay } from './services/outbox-relay.js';
import { StatusStream } from './services/status-stream.js';
import { TenantService } from './services/tenants.service.js';
import { WebhookIntake } from './services/webhook-intake.js';
import { WebhookDispatcher } from './services/webhook-dispatcher.js';
import { WebhookEndpointService } from './services/webhook-endpoints.service.js';
import { createWebhookServer, type WebhookServer } from './webhooks/server.js';
import { setStatusTrace } from './lib/trace.js';

/** What a process runs; `cli` wires the services for a command and serves nothing. */
export type Role = 'gateway' | 'webhooks' | 'all' | 'cli';

/** The wiring of one process: what it runs depends on its role. The composition root; nothing else builds services. */
export interface RunningApp {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  orm: Orm;
  databaseUrl: string;
  providers: ProviderRegistry;
  tenants: TenantService;
  apiKeys: ApiKeyService;
  deposits: DepositService;
  applier: EventApplier;
  processor: InboxProcessor;
  /** Status sync with the providers (syncDeposit; the sidecar's automatic sync uses it). */
  sync: SyncService;
  relay?: OutboxRelay;
  /** Merchant webhooks: the sidecar's dispatcher (roles webhooks and all). */
  dispatcher?: WebhookDispatcher;
  webhookEndpoints: WebhookEndpointService;
  statusStream?: StatusStream;
  bus: StatusBus;
  intents: IntentStore;
  gatewayPort?: number;
  webhookPort?: number;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Background loops (sweeper, inbox processor) can be switched off by tests that drive them by hand. */
  background?: boolean;
}

export async function startApp(config: Config, role: Role, opts: StartOptions = {}): Promise<RunningApp> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse())
      await c().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'close failed'));
  };
  try {
    return await wire(config, role, opts, logger, closers, close);
  } catch (err) {
    await close();
    throw err;
  }
}

async function wire(
  config: Config,
  role: Role,
  opts: StartOptions,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
  close: () => Promise<void>,
): Promise<RunningApp> {
  const runGateway = role === 'gateway' || role === 'all';
  const runWebhooks = role === 'webhooks' || role === 'all';
  setStatusTrace(config.statusTrace);

  const databaseUrl = await databaseUrlFor(config, role, logger, closers);
  const db: DbOptions = { databaseUrl, ...config.db, applicationName: `deposit-gateway:${role}` };
  const orm = await createOrm(db, logger);
  closers.push(() => orm.close());
  let migrated = false;
  await migrate(orm, db, logger);
  migrated = true;

  const metrics = createMetrics();
  const { intents, bus, redis } = await connectBus(config, role, logger, closers);

  const em = orm.em.fork();
  const clientTokens = new ClientTokens(await sharedSecret(em, 'client_token_key', () => randomKey()));
  const secrets = await providerSecrets(config, em);
  // The config carries each provider's API settings under its name, and the public URL.
  const providers = createProviderRegistry({ ...config, secrets, production: config.isProduction });
  const sandboxSecret = secrets[sandbox.name];

  const tenants = new TenantService(orm, (err) =>
    logger.warn({ err: (err as Error).message }, 'api key last_used_at not recorded'),
  );
  const bootstrap = await tenants.ensureBootstrap(config.bootstrapApiKey, config.bootstrapOperatorKey);
  if (bootstrap.revoked.length > 0) {
    logger.warn({ variables: bootstrap.revoked }, 'a bootstrap key was revoked through the API: it stays refused');
  }
  announceDevelopmentKeys(config, logger, role);
  const apiKeys = new ApiKeyService(orm, tenants);
  let bootstrapped = false;
  const health = createHealth({
    migrated: () => migrated,
    bootstrapped: async () => (bootstrapped ||= await tenants.bootstrapTenantExists()),
    postgres: async () => (await orm.em.fork().execute('select 1')).length === 1,
    redis: redis ? () => intents.ping() : undefined,
  });

  // The pool MikroORM manages (same limits and timeouts): the hot paths speak SQL to it directly.
  const pool = await poolOf(orm);
  const deposits = new DepositService({
    orm,
    pool,
    intents,
    providers,
    clientTokens,
    logger,
    metrics,
    depositTtlSeconds: config.depositTtlSeconds,
    idempotencyTtlHours: config.idempotencyTtlHours,
    providerTimeoutMs: config.providerTimeoutMs,
    defaultProvider: config.defaultProvider,
    // Deposits of a provider with a status API join the automatic sync's schedule as they are made.
    syncEnrolment: (provider) =>
      providers.syncable(provider)
        ? { afterSeconds: config.sync.afterSeconds, giveUpSeconds: config.sync.giveUpSeconds }
        : undefined,
  });

  let relay: OutboxRelay | undefined;
  const applier = new EventApplier({
    pool,
    intents,
    logger,
    metrics,
    onOutboxWritten: () => relay?.wake(),
    maxBatch: config.webhookBatchMax,
    maxInFlight: config.webhookTransactions,
  });
  const processor = new InboxProcessor(orm, providers, applier, logger);
  const sync = new SyncService({
    pool,
    providers,
    applier,
    logger,
    metrics,
    providerTimeoutMs: config.providerTimeoutMs,
  });
  // Resolutions write the outbox like the applier: the relay of this process (if any) is woken, others hear the NOTIFY.
  const resolutions = new ResolutionService({ pool, logger, metrics, onOutboxWritten: () => relay?.wake() });
  const ledger = new LedgerService(pool);
  const webhookEndpoints = new WebhookEndpointService({ pool, allowPrivateUrls: config.outbound.allowPrivateUrls });
  const app: RunningApp = {
    config,
    logger,
    metrics,
    orm,
    databaseUrl,
    providers,
    tenants,
    apiKeys,
    deposits,
    applier,
    processor,
    sync,
    webhookEndpoints,
    bus,
    intents,
    close,
  };

  if (runWebhooks) {
    relay = new OutboxRelay({
      pool,
      bus,
      prefix: config.redisKeyPrefix,
      databaseUrl,
      connectTimeoutMs: config.db.connectTimeoutMs,
      logger,
      metrics,
      onSequenced: () => app.dispatcher?.wake(),
    });
    app.relay = relay;
    const background: Stoppable[] = [];
    if (opts.background !== false) {
      relay.start();
      background.push(startSweeper(pool, config.sweepIntervalMs, logger, metrics, () => relay?.wake()));
      background.push(every(config.sweepIntervalMs, () => processor.processPending(), logger, 'inbox-processor'));
      const autoSync = new AutoSync({
        pool,
        sync,
        providers: PROVIDERS.map((p) => p.name).filter((name) => providers.syncable(name)),
        settings: { ...config.sync, providerTimeoutMs: config.providerTimeoutMs },
        logger,
      });
      background.push(autoSync.start(config.sweepIntervalMs));
      // Merchant webhooks come from Postgres alone: Redis being away changes nothing for them.
      const dispatcher = new WebhookDispatcher({
        pool,
        logger,
        metrics,
        retrySchedule: config.outbound.retrySchedule,
        allowPrivateUrls: config.outbound.allowPrivateUrls,
        maxInFlight: config.outbound.maxInFlight,
        maxInFlightPerEndpoint: config.outbound.maxInFlightPerEndpoint,
        pollMs: config.outbound.pollMs,
        timeoutMs: config.outbound.timeoutMs,
        leaseMs: 2 * config.outbound.timeoutMs,
      });
      app.dispatcher = dispatcher;
      dispatcher.start();
      background.push(dispatcher);
    }
    const intake = new WebhookIntake({
      providers,
      applier,
      failuresPerMinute: config.webhookRateLimitPerMinute,
    });
    const server: WebhookServer = createWebhookServer({ logger, metrics, intake, health });
    // Registered before listening so that closing runs after the server stopped accepting.
    closers.push(() => relay!.stop());
    closers.push(() => Promise.all(background.map((b) => b.stop())));
    closers.push(() => server.close());
    app.webhookPort = await server.listen(config.webhookPort, config.host);
    logger.info({ port: app.webhookPort }, 'webhook sidecar listening');
  }

  if (runGateway) {
    const schema = await buildGatewaySchema();
    const statusStream = new StatusStream(pool, bus, config.redisKeyPrefix, metrics);
    app.statusStream = statusStream;
    const gateway: Gateway = await createGateway({
      config,
      logger,
      metrics,
      schema,
      tenants,
      deposits,
      statusStream,
      sync,
      resolutions,
      ledger,
      webhookEndpoints,
      apiKeys,
      clientTokens,
      health,
      sandbox: sandboxSecret
        ? createSandboxPayments(
            config.webhookUrl,
            () => sandboxSecret,
            undefined,
            (p) => recordSandboxPayment(pool, p),
          )
        : undefined,
    });
    closers.push(() => gateway.close());
    app.gatewayPort = await gateway.listen(config.port, config.host);
    logger.info({ port: app.gatewayPort, graphql: `${config.publicUrl}/graphql` }, 'gateway listening');
  }
  // Runs first when closing: from here on a database connection that ends is part of stopping
  // (Postgres may be stopping too, e.g. with `docker compose down`), not something to warn about.
  closers.push(async () => relay?.stopping());
  return app;
}

/**
 * The development defaults, said once at start: the well-known keys of the tenant `default`
 * (only those constants: a key set through the environment is never logged).
 */
function announceDevelopmentKeys(config: Config, logger: Logger, role: Role): void {
  if (config.isProduction || role === 'cli') return;
  const keys: Record<string, string> = {};
  if (config.bootstrapApiKey === DEV_API_KEY) keys.appKey = DEV_API_KEY;
  if (config.bootstrapOperatorKey === DEV_OPERATOR_KEY) keys.operatorKey = DEV_OPERATOR_KEY;
  if (Object.keys(keys).length === 0) return;
  logger.warn(
    keys,
    'development defaults: the tenant `default` accepts these well-known keys (set BOOTSTRAP_API_KEY and BOOTSTRAP_OPERATOR_KEY; none under NODE_ENV=production)',
  );
}

/** DATABASE_URL, or the embedded PostgreSQL of development (a command finds the one `npm start` runs). */
async function databaseUrlFor(
  config: Config,
  role: Role,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  // The development default, loaded only here: a production install (no dev dependencies) never imports it.
  const embedded = await import('./db/embedded-postgres.js');
  const running = role === 'cli' ? await embedded.runningEmbeddedUrl(config.embeddedPgDir) : undefined;
  if (running) return running;
  logger.warn(
    { dataDir: config.embeddedPgDir },
    'DATABASE_URL is not set: starting an EMBEDDED PostgreSQL for development (refused under NODE_ENV=production)',
  );
  const started = await embedded.startEmbeddedPostgres(config.embeddedPgDir, logger);
  closers.push(() => started.stop());
  return started.url;
}

/** The intent store and the status bus: Redis, or in-process where REDIS_URL is unset or a command runs. */
async function connectBus(
  config: Config,
  role: Role,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
): Promise<{ intents: IntentStore; bus: StatusBus; redis?: Redis }> {
  if (role === 'cli') {
    // The commands (migrate, tenant:create, replay) publish nothing and wait for no one: the relay
    // of a running sidecar publishes what a replay writes to the outbox, and Postgres decides
    // without the intents.
    logger.debug('command: no intent store or event bus (Redis is not used)');
    return { intents: new MemoryIntentStore(), bus: new MemoryStatusBus() };
  }
  if (!config.redisUrl) {
    logger.warn(
      'REDIS_URL is not set: using an IN-PROCESS intent store and event bus (one process only; refused under NODE_ENV=production)',
    );
    return { intents: new MemoryIntentStore(), bus: new MemoryStatusBus() };
  }
  const redis = createRedis(config.redisUrl, logger, `${role}:main`);
  const sub = createRedis(config.redisUrl, logger, `${role}:subscriber`, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
  });
  closers.push(async () => {
    redis.disconnect();
    sub.disconnect();
  });
  await Promise.all([redisReady(redis), redisReady(sub)]).catch(() =>
    logger.warn('redis is not reachable at start; continuing (events are stored and published once it is back)'),
  );
  return { intents: new RedisIntentStore(redis, config.redisKeyPrefix), bus: new RedisStatusBus(redis, sub), redis };
}

/**
 * Every provider's webhook secret: as configured, or, for a development provider (the sandbox)
 * left without one, generated once and shared through the database by every process. Under
 * production a development provider does not exist (config refuses its secret).
 */
async function providerSecrets(config: Config, em: EntityManager): Promise<ProviderSecrets> {
  const secrets: ProviderSecrets = { ...config.webhookSecrets };
  for (const p of PROVIDERS) {
    if (secrets[p.name] || !p.generateSecret || (config.isProduction && !p.productionAllowed)) continue;
    secrets[p.name] = await sharedSecret(em, `${p.name}_webhook_secret`, p.generateSecret);
  }
  return secrets;
}

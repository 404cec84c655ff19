import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The metric names dashboards rely on (contract: "Metrics"), plus the process
 * defaults. One registry per process role set, so tests can make their own.
 */
export interface Metrics {
  registry: Registry;
  webhookEvents: Counter<'provider' | 'outcome'>;
  webhookApplySeconds: Histogram<'provider'>;
  outboxLagSeconds: Gauge;
  subscriptionsOpen: Gauge;
  depositsTotal: Counter<'status'>;
  /** Status syncs (manual and automatic) by provider and outcome: changed, unchanged, unavailable, not_found. */
  providerSync: Counter<'provider' | 'outcome'>;
  merchantWebhookDeliveries: Counter<'outcome'>;
  merchantWebhookPending: Gauge;
}

/** succeeded: a 2xx; failed_attempt: an attempt failed and another is scheduled; failed: the last attempt failed. */
export type MerchantWebhookOutcome = 'succeeded' | 'failed_attempt' | 'failed';

export type WebhookOutcome = 'accepted' | 'duplicate' | 'rejected' | 'invalid_signature' | 'malformed';

export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhookEvents: new Counter({
      name: 'webhook_events_total',
      help: 'Webhook deliveries by provider and outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    webhookApplySeconds: new Histogram({
      name: 'webhook_apply_seconds',
      help: 'Time to apply one stored webhook event to its deposit (one transaction)',
      labelNames: ['provider'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxLagSeconds: new Gauge({
      name: 'outbox_lag_seconds',
      help: 'Age of the oldest status change not yet published to Redis (0 when none)',
      registers: [registry],
    }),
    subscriptionsOpen: new Gauge({
      name: 'graphql_subscriptions_open',
      help: 'Open depositStatusChanged subscriptions on this process',
      registers: [registry],
    }),
    depositsTotal: new Counter({
      name: 'deposits_total',
      help: 'Deposits entering each status (created PENDING, then every change) on this process',
      labelNames: ['status'],
      registers: [registry],
    }),
    providerSync: new Counter({
      name: 'provider_sync_total',
      help: 'Status syncs with a provider (syncDeposit and the automatic sync) by outcome',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    }),
    merchantWebhookDeliveries: new Counter({
      name: 'merchant_webhook_deliveries_total',
      help: "Attempts to deliver a status change to a merchant's webhook endpoint, by outcome, on this process",
      labelNames: ['outcome'],
      registers: [registry],
    }),
    merchantWebhookPending: new Gauge({
      name: 'merchant_webhook_pending',
      help: 'Merchant webhook deliveries waiting to be sent or retried (all tenants; measured by the dispatcher)',
      registers: [registry],
    }),
  };
}

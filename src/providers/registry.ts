import { PROVIDERS, type AnyProvider, type ProviderApis, type ProviderName, type ProviderSecrets } from './index.js';
import {
  webhookAdapter,
  type PaymentStarter,
  type StatusFetcher,
  type StatusSources,
  type WebhookAdapter,
} from './provider.js';

/**
 * The configured providers. A provider's webhook endpoint is enabled by its webhook secret;
 * `createDeposit` for it also needs its API settings where it has an API (contract:
 * "Processes, ports, configuration").
 */

export type ProviderSettings = ProviderApis & {
  /** `WEBHOOK_SECRET_*`: `whsec_<base64>`, except instap's raw UTF-8 key. */
  secrets: ProviderSecrets;
  /** Base URL of the gateway, for the sandbox checkout link. */
  publicUrl: string;
  /** Under NODE_ENV=production the development providers do not exist, whatever secret reaches here. */
  production?: boolean;
};

export interface ProviderRegistry {
  /** The adapter behind `POST /webhooks/{name}`; `undefined` when its `WEBHOOK_SECRET_*` is unset. */
  webhook(name: ProviderName): WebhookAdapter | undefined;
  /** What `createDeposit` calls, or the environment variables to set (for `PROVIDER_NOT_CONFIGURED`). */
  starter(name: ProviderName): (PaymentStarter & { readonly name: ProviderName }) | { missing: string };
  /**
   * What `syncDeposit` asks: the provider's status fetcher, the variables to set when its API is
   * not configured, or `undefined` when it has no status API (or does not exist here).
   */
  statusFetcher(name: string, sources: StatusSources): StatusFetcher | { missing: string } | undefined;
  /** Whether deposits of `name` can be synced as configured (`Deposit.syncable`). */
  syncable(name: string): boolean;
}

/**
 * What `createDeposit` still needs to use `m` (the variables to set, as the contract's table
 * says), or `undefined` when it can: a provider with an API its API settings, one without its
 * webhook secret (without it nothing could ever complete the deposit, so it is not even
 * started), a development provider a NODE_ENV other than production. The registry builds its
 * starters by these rules, and `config.ts` checks DEFAULT_PROVIDER with them.
 */
export function starterNeeds(
  m: AnyProvider,
  s: { hasSecret: boolean; api: unknown; production: boolean },
): string | undefined {
  if (s.production && !m.productionAllowed) {
    return `a NODE_ENV other than production; the ${m.name} is a development tool`;
  }
  if (m.env.api) return s.api ? undefined : m.env.api.variables.join(', ');
  return s.hasSecret ? undefined : m.env.secret;
}

export function createProviderRegistry(s: ProviderSettings): ProviderRegistry {
  const webhooks = new Map<ProviderName, WebhookAdapter>();
  const starters = new Map<ProviderName, (PaymentStarter & { name: ProviderName }) | { missing: string }>();
  const apis: Partial<Record<ProviderName, unknown>> = s;
  for (const m of PROVIDERS) {
    const exists = m.productionAllowed || !s.production;
    const secret = exists ? s.secrets[m.name] : undefined;
    if (secret) webhooks.set(m.name, webhookAdapter(m, secret));
    const api = apis[m.name];
    const missing = starterNeeds(m, { hasSecret: !!secret, api, production: !!s.production });
    starters.set(m.name, missing ? { missing } : { name: m.name, ...starterOf(m, api, s.publicUrl) });
  }
  const fetcherOf = (name: string, sources: StatusSources): StatusFetcher | { missing: string } | undefined => {
    const m = PROVIDERS.find((p) => p.name === name);
    if (!m?.fetchStatus || (s.production && !m.productionAllowed)) return undefined;
    const api = apis[m.name];
    if (m.env.api && !api) return { missing: m.env.api.variables.join(', ') };
    const fetchStatus = m.fetchStatus as (api: unknown, sources: StatusSources) => StatusFetcher;
    return fetchStatus(api, sources);
  };
  const noSources: StatusSources = { recordedPayment: async () => undefined };
  return {
    webhook: (name) => webhooks.get(name),
    starter: (name) => starters.get(name)!,
    statusFetcher: fetcherOf,
    syncable: (name) => {
      const f = fetcherOf(name, noSources);
      return f !== undefined && !('missing' in f);
    },
  };
}

/** Its own starter, or (a provider told nothing) one that links to no checkout. */
function starterOf(m: AnyProvider, api: unknown, publicUrl: string): PaymentStarter {
  const own = m.starter as ((api: unknown, links: { publicUrl: string }) => PaymentStarter) | undefined;
  return own ? own(api, { publicUrl }) : { start: async () => ({ checkoutUrl: null }) };
}

import { createDepositNeeds } from '../../config.js';
import { createDepasifyAdapter, createDepasifyStarter } from './depasify.provider.js';
import { createFinraxAdapter, createFinraxStarter } from './finrax.provider.js';
import { createInstapAdapter, createInstapStarter } from './instap.provider.js';
import { createLayer1Adapter, createLayer1Starter } from './layer1.provider.js';
import type { PaymentStarter, ProviderName, WebhookAdapter } from './provider.js';
import { createSandboxAdapter, createSandboxStarter } from './sandbox.provider.js';

/**
 * The configured providers. A provider's webhook endpoint is enabled by its
 * webhook secret; `createDeposit` for it also needs its API settings where it
 * has an API (contract: "Processes, ports, configuration").
 */

export interface ProviderSettings {
  /** `WEBHOOK_SECRET_*`: `whsec_<base64>`, except instap's raw UTF-8 key. */
  secrets: { sandbox?: string; layer1?: string; depasify?: string; finrax?: string; instap?: string };
  /** All three `INSTAP_*`, or absent. */
  instap?: { apiUrl: string; apiKey: string; hmacSecret: string };
  /** Both `FINRAX_*`, or absent. */
  finrax?: { apiUrl: string; apiKey: string };
  /** Base URL of the gateway, for the sandbox checkout link. */
  publicUrl: string;
  /** Under NODE_ENV=production the sandbox does not exist, whatever secret reaches here. */
  production?: boolean;
}

export interface ProviderRegistry {
  /** The adapter behind `POST /webhooks/{name}`; `undefined` when its `WEBHOOK_SECRET_*` is unset. */
  webhook(name: ProviderName): WebhookAdapter | undefined;
  /** What `createDeposit` calls, or the environment variables to set (for `PROVIDER_NOT_CONFIGURED`). */
  starter(name: ProviderName): PaymentStarter | { missing: string };
}

export function createProviderRegistry(s: ProviderSettings): ProviderRegistry {
  const { secrets } = s;
  const sandboxSecret = s.production ? undefined : secrets.sandbox;
  const rules = { sandboxEnabled: !s.production, webhookSecrets: secrets, instap: s.instap, finrax: s.finrax };
  // What to set, by the configuration's rules (config.ts). In development the sandbox's secret is
  // generated before the registry is built, so only a registry made without one lacks it.
  const notConfigured = (name: ProviderName) => ({
    missing: createDepositNeeds(name, rules) ?? `WEBHOOK_SECRET_${name.toUpperCase()}`,
  });
  const webhooks: { [N in ProviderName]: WebhookAdapter | undefined } = {
    sandbox: sandboxSecret ? createSandboxAdapter(sandboxSecret) : undefined,
    instap: secrets.instap ? createInstapAdapter(secrets.instap) : undefined,
    layer1: secrets.layer1 ? createLayer1Adapter(secrets.layer1) : undefined,
    depasify: secrets.depasify ? createDepasifyAdapter(secrets.depasify) : undefined,
    finrax: secrets.finrax ? createFinraxAdapter(secrets.finrax) : undefined,
  };
  const starters: { [N in ProviderName]: PaymentStarter | { missing: string } } = {
    sandbox: sandboxSecret ? createSandboxStarter(s.publicUrl) : notConfigured('sandbox'),
    // instap's session API is signed with its own key; the webhook secret only guards the way back.
    instap: s.instap ? createInstapStarter(s.instap) : notConfigured('instap'),
    // Without a webhook secret nothing could ever complete the deposit, so it is not even started.
    layer1: secrets.layer1 ? createLayer1Starter() : notConfigured('layer1'),
    depasify: secrets.depasify ? createDepasifyStarter() : notConfigured('depasify'),
    finrax: s.finrax ? createFinraxStarter(s.finrax) : notConfigured('finrax'),
  };
  return {
    webhook: (name) => webhooks[name],
    starter: (name) => starters[name],
  };
}

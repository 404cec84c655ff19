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
}

export interface ProviderRegistry {
  /** The adapter behind `POST /webhooks/{name}`; `undefined` when its `WEBHOOK_SECRET_*` is unset. */
  webhook(name: ProviderName): WebhookAdapter | undefined;
  /** What `createDeposit` calls, or the environment variables to set (for `PROVIDER_NOT_CONFIGURED`). */
  starter(name: ProviderName): PaymentStarter | { missing: string };
}

export function createProviderRegistry(s: ProviderSettings): ProviderRegistry {
  const { secrets } = s;
  const webhooks: { [N in ProviderName]: WebhookAdapter | undefined } = {
    sandbox: secrets.sandbox ? createSandboxAdapter(secrets.sandbox) : undefined,
    instap: secrets.instap ? createInstapAdapter(secrets.instap) : undefined,
    layer1: secrets.layer1 ? createLayer1Adapter(secrets.layer1) : undefined,
    depasify: secrets.depasify ? createDepasifyAdapter(secrets.depasify) : undefined,
    finrax: secrets.finrax ? createFinraxAdapter(secrets.finrax) : undefined,
  };
  const starters: { [N in ProviderName]: PaymentStarter | { missing: string } } = {
    sandbox: secrets.sandbox ? createSandboxStarter(s.publicUrl) : { missing: 'WEBHOOK_SECRET_SANDBOX' },
    // instap's session API is signed with its own key; the webhook secret only guards the way back.
    instap: s.instap
      ? createInstapStarter(s.instap)
      : { missing: 'INSTAP_API_URL, INSTAP_API_KEY, INSTAP_HMAC_SECRET' },
    // Without a webhook secret nothing could ever complete the deposit, so it is not even started.
    layer1: secrets.layer1 ? createLayer1Starter() : { missing: 'WEBHOOK_SECRET_LAYER1' },
    depasify: secrets.depasify ? createDepasifyStarter() : { missing: 'WEBHOOK_SECRET_DEPASIFY' },
    finrax: s.finrax ? createFinraxStarter(s.finrax) : { missing: 'FINRAX_API_URL, FINRAX_API_KEY' },
  };
  return {
    webhook: (name) => webhooks[name],
    starter: (name) => starters[name],
  };
}

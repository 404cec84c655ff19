import type { z } from 'zod';
import type { DepositEventInput, NormalizedEvent, UnsupportedEventInput } from '../domain/events.js';

/**
 * One provider = one `ProviderModule`, the single export of `src/providers/<name>.provider.ts`,
 * listed once in `index.ts`: its name, its variables, its webhook scheme and mapping, its
 * payment starter. Provider strings, shapes and signatures stop at the module: everything
 * behind it speaks `NormalizedEvent` and `DepositStatus`.
 */
export interface ProviderModule<Name extends string = string, Api = unknown> {
  /** The path segment of its endpoint (`POST /webhooks/<name>`) and the value of `deposit.provider`. */
  readonly name: Name;
  /** Its part of the environment (read once by `config.ts`, like every variable). */
  readonly env: ProviderEnv<Api>;
  /** Its rows of the README's Configuration table, one per variable or group of variables. */
  readonly readme: readonly string[];
  /**
   * `false` for a development tool: under NODE_ENV=production it has no endpoint and no starter,
   * and setting one of its variables stops the process.
   */
  readonly productionAllowed: boolean;
  /** Where `productionAllowed` is false: why, in the words the refusal gives an operator. */
  readonly whyNotInProduction?: string;
  /**
   * Where its secret may be left unset outside production: makes one, which is kept in the
   * database so that every process of the deployment shares it.
   */
  readonly generateSecret?: () => string;
  /**
   * Its signature scheme, keyed with its secret (`WEBHOOK_SECRET_<NAME>`): verification over
   * the raw bytes, and the key that makes a delivery a duplicate.
   */
  webhookAuth(secret: string): WebhookAuth;
  /**
   * Parses a body losslessly (no JSON number ever becomes a float), validates it with the
   * provider's zod schema and maps it to our event type. Throws `MalformedPayloadError` (400)
   * naming the field. Verified events we do not apply map to `{ kind: 'unsupported' }`.
   */
  parse(body: Buffer): NormalizedEvent;
  /**
   * What `createDeposit` calls. A provider with an API is started with its API settings (and
   * needs nothing else); one without is started once its webhook secret is set. Absent: the
   * provider is told nothing and has no checkout (the depositor pays to something arranged with
   * it, referenced by the deposit id).
   */
  starter?(api: Api, links: GatewayLinks): PaymentStarter;
  /**
   * The status fetcher: asks the provider where a payment stands when its webhook is late or
   * lost, and answers in our event type, so that the answer is applied exactly like a delivery.
   * Built from its API settings, like `starter`, and what the gateway recorded for providers it
   * plays itself (the sandbox). Absent: the provider has no status API (`SYNC_NOT_SUPPORTED`).
   */
  fetchStatus?(api: Api, sources: StatusSources): StatusFetcher;
}

/** A provider's variables: declared here, parsed with the rest of the environment by `config.ts`. */
export interface ProviderEnv<Api> {
  /** zod fields, merged into the environment's schema: a bad value stops the process naming the variable. */
  readonly variables: z.ZodRawShape;
  /** The variable of its webhook secret: set, its endpoint exists. */
  readonly secret: string;
  /** Its API: the variables it needs (all, or the API is not configured), and its settings from them. */
  readonly api?: {
    readonly variables: readonly string[];
    read(values: EnvValues): Api;
  };
}

/** Parsed values of the environment, by variable name (unset ones absent or undefined). */
export type EnvValues = Readonly<Record<string, string | undefined>>;

/** What a starter may link to: the gateway's own pages. */
export interface GatewayLinks {
  /** `PUBLIC_URL`, without a trailing slash. */
  publicUrl: string;
}

/** A webhook request as received: the raw bytes and lower-cased headers. */
export interface RawWebhook {
  body: Buffer;
  headers: Readonly<Record<string, string | undefined>>;
}

export interface WebhookAuth {
  /**
   * Verifies the signature over the raw bytes, before anything is parsed.
   * Throws `SignatureError` (401) with the code of the way it failed.
   * @param now the clock for the timestamp tolerance (tests pass their own).
   */
  verify(req: RawWebhook, now: Date): void;
  /**
   * The key that makes a delivery a duplicate: `webhook-id` for Standard Webhooks
   * providers (stable across retries), the SHA-256 of the raw body for instap.
   * Called only after `verify` succeeded.
   */
  dedupeKey(req: RawWebhook): string;
}

/** The configured webhook side of one provider, as the sidecar uses it. */
export interface WebhookAdapter extends WebhookAuth {
  readonly name: string;
  parse(body: Buffer): NormalizedEvent;
}

/** A module's webhook side keyed with `secret`. */
export function webhookAdapter(module: ProviderModule, secret: string): WebhookAdapter {
  return { name: module.name, ...module.webhookAuth(secret), parse: (body) => module.parse(body) };
}

/** What `createDeposit` hands a provider (the outbound half). */
export interface StartPaymentRequest {
  depositId: string;
  userId: string;
  userName: string;
  userEmail?: string;
  language?: string;
  currency: string;
  /** Fixed amount, canonical decimal string; absent for an open amount. */
  amount?: string;
  minAmount?: string;
  maxAmount?: string;
  redirectUrl?: string;
}

export interface StartPaymentResult {
  /** Where the user pays; `null` for providers without a checkout (layer1, depasify). */
  checkoutUrl: string | null;
  /** The provider's own id for the payment, used to match its webhooks (instap's sessionToken). */
  providerRef?: string;
}

export interface PaymentStarter {
  /**
   * Refuses input this provider cannot take (e.g. instap's currency list), as
   * `{ field, message }`, before anything is stored. Optional.
   */
  validate?(req: StartPaymentRequest): { field: string; message: string } | undefined;
  /**
   * Asks the provider for a payment. Throws `ProviderUnavailableError` when the
   * provider errs, answers something unusable, or does not answer within the timeout.
   */
  start(req: StartPaymentRequest, signal: AbortSignal): Promise<StartPaymentResult>;
}

/** See `ProviderModule.fetchStatus`. */
export interface StatusFetcher {
  /**
   * The provider's current view of one deposit's payment, mapped like a webhook body. Throws
   * `ProviderUnavailableError` when it cannot be asked: network, timeout (`signal`), a status
   * other than 2xx (404 is `not-found`), or an answer that is not JSON or not its shape.
   * Never follows a redirect (the API key would travel with it).
   */
  fetch(deposit: { id: string; providerRef: string | null }, signal: AbortSignal): Promise<StatusAnswer>;
}

/**
 * A provider's answer to a status request: an event to store and apply (its ref is the
 * provider's; the caller applies it to the deposit it asked about), `nothing-new` (no payment
 * recorded), or `not-found` (the provider does not know the payment).
 */
export type StatusAnswer =
  | { kind: 'event'; event: DepositEventInput | UnsupportedEventInput; answer: unknown }
  | { kind: 'nothing-new' }
  | { kind: 'not-found' };

/** What the sandbox recorded when it was paid (`sandbox_payment`): it plays a provider's status API. */
export interface RecordedPayment {
  status: 'PAID' | 'FAILED';
  amount: string | null;
  currency: string | null;
  paidAt: Date;
}

/** What a fetcher may read besides the provider's API: the gateway's own records. */
export interface StatusSources {
  recordedPayment(depositId: string): Promise<RecordedPayment | undefined>;
}

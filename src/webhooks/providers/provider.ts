import type { NormalizedEvent } from '../../domain/events.js';

/**
 * One provider = one adapter implementing this interface, in
 * `src/webhooks/providers/<name>.provider.ts`. Provider strings, shapes and
 * signatures stop here: everything behind an adapter speaks `NormalizedEvent`.
 */

export const PROVIDER_NAMES = ['sandbox', 'instap', 'layer1', 'depasify', 'finrax'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(s: string): s is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(s);
}

/** A webhook request as received: the raw bytes and lower-cased headers. */
export interface RawWebhook {
  body: Buffer;
  headers: Readonly<Record<string, string | undefined>>;
}

export interface WebhookAdapter {
  readonly name: ProviderName;
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
  /**
   * Parses the body losslessly (no JSON number ever becomes a float), validates it with
   * the provider's zod schema, and maps it to our event type. Throws `MalformedPayloadError`
   * (400) naming the field. Verified events we do not apply map to `{ kind: 'unsupported' }`.
   */
  parse(body: Buffer): NormalizedEvent;
}

/** What `createDeposit` hands a provider that has an API (the outbound half). */
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
  readonly name: ProviderName;
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

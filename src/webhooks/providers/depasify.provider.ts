import { z } from 'zod';
import { DepositStatus, VerificationStatus } from '../../domain/deposit-status.js';
import type { NormalizedEvent } from '../../domain/events.js';
import {
  currencyCode,
  isoTime,
  optionalText,
  positiveAmount,
  readPayload,
  standardWebhookAuth,
  storableKey,
  unixSeconds,
  validatePayload,
} from './common.js';
import type { PaymentStarter, WebhookAdapter } from './provider.js';

/**
 * depasify (depasify-webhook-events.txt): `{id, event, created_at, data}`.
 * Incoming payments carry our deposit id as `data.reference`; identification
 * events set a user's verification; outgoing payments are not ours to apply.
 */

const Envelope = z.object({
  id: z.string().min(1),
  event: z.string().min(1),
  created_at: z.union([isoTime, unixSeconds], { error: 'must be an ISO 8601 time or unix seconds' }),
  data: z.record(z.string(), z.unknown()),
});

const PaymentReceived = z.object({
  data: z.object({
    reference: z.string().min(1),
    amount: positiveAmount,
    currency: currencyCode,
    tx_hash: optionalText,
    transaction_id: optionalText,
  }),
});

const PaymentFailed = z.object({ data: z.object({ reference: z.string().min(1) }) });

const Identification = z.object({ data: z.object({ user_id: storableKey(4000) }) });

const VERIFICATION: Record<string, VerificationStatus> = {
  identification_pending: VerificationStatus.PENDING,
  identification_verified: VerificationStatus.VERIFIED,
  identification_rejected: VerificationStatus.REJECTED,
  identification_retry: VerificationStatus.RETRY,
};

export function parseDepasifyEvent(body: Buffer): NormalizedEvent {
  const payload = readPayload(body);
  const { event, created_at: at } = validatePayload(Envelope, payload);

  if (event === 'fiat_payment_received' || event === 'blockchain_payment_received') {
    const { data } = validatePayload(PaymentReceived, payload);
    const txHash = data.tx_hash ?? data.transaction_id;
    return {
      kind: 'deposit',
      ref: { by: 'id', depositId: data.reference },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: event,
      amount: data.amount,
      currency: data.currency,
      ...(txHash !== undefined && { txHash }),
      occurredAt: at,
      paidAt: at,
    };
  }

  if (event === 'fiat_payment_failed') {
    // "needs a retry" (the seed): the transfer may still come, so the deposit stays open.
    const { data } = validatePayload(PaymentFailed, payload);
    return {
      kind: 'deposit',
      ref: { by: 'id', depositId: data.reference },
      effect: 'record',
      status: DepositStatus.PENDING,
      providerStatus: event,
      occurredAt: at,
    };
  }

  const verification = Object.hasOwn(VERIFICATION, event) ? VERIFICATION[event] : undefined;
  if (verification) {
    const { data } = validatePayload(Identification, payload);
    return { kind: 'verification', userId: data.user_id, status: verification, providerStatus: event, occurredAt: at };
  }

  // fiat_payment_sent, blockchain_payment_enqueued/sent/failed (outgoing) and events added later.
  return { kind: 'unsupported', providerStatus: event };
}

export function createDepasifyAdapter(secret: string): WebhookAdapter {
  return { name: 'depasify', ...standardWebhookAuth(secret), parse: parseDepasifyEvent };
}

/** depasify is told nothing: the depositor pays to an account arranged with it, referenced by the deposit id. */
export function createDepasifyStarter(): PaymentStarter {
  return {
    name: 'depasify',
    async start() {
      return { checkoutUrl: null };
    },
  };
}

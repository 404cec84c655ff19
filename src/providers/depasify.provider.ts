import { z } from 'zod';
import { DepositStatus, VerificationStatus } from '../domain/deposit-status.js';
import type { DepositEventInput, NormalizedEvent } from '../domain/events.js';
import { whsecSecret } from '../lib/env.js';
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
import type { ProviderModule } from './provider.js';

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

function parseDepasifyEvent(body: Buffer): NormalizedEvent {
  const payload = readPayload(body);
  const { event, created_at: at } = validatePayload(Envelope, payload);
  // Incoming payments and their failures carry our deposit id as `data.reference`.
  const forDeposit = (reference: string, what: Pick<DepositEventInput, 'effect' | 'status'>): DepositEventInput => ({
    kind: 'deposit',
    ref: { by: 'id', depositId: reference },
    ...what,
    providerStatus: event,
    occurredAt: at,
  });

  if (event === 'fiat_payment_received' || event === 'blockchain_payment_received') {
    const { data } = validatePayload(PaymentReceived, payload);
    const txHash = data.tx_hash ?? data.transaction_id;
    return {
      ...forDeposit(data.reference, { effect: 'payment', status: DepositStatus.COMPLETED }),
      amount: data.amount,
      currency: data.currency,
      ...(txHash !== undefined && { txHash }),
      paidAt: at,
    };
  }

  if (event === 'fiat_payment_failed') {
    // "needs a retry" (the seed): the transfer may still come, so the deposit stays open.
    const { data } = validatePayload(PaymentFailed, payload);
    return forDeposit(data.reference, { effect: 'record', status: DepositStatus.PENDING });
  }

  const verification = Object.hasOwn(VERIFICATION, event) ? VERIFICATION[event] : undefined;
  if (verification) {
    const { data } = validatePayload(Identification, payload);
    return { kind: 'verification', userId: data.user_id, status: verification, providerStatus: event, occurredAt: at };
  }

  // fiat_payment_sent, blockchain_payment_enqueued/sent/failed (outgoing) and events added later.
  return { kind: 'unsupported', providerStatus: event };
}

/** depasify is told nothing (no starter): the depositor pays to an account arranged with it, referenced by the deposit id. */
export const depasify: ProviderModule<'depasify', undefined> = {
  name: 'depasify',
  env: {
    variables: { WEBHOOK_SECRET_DEPASIFY: whsecSecret.optional() },
    secret: 'WEBHOOK_SECRET_DEPASIFY',
  },
  readme: [
    "| `WEBHOOK_SECRET_DEPASIFY` | | depasify's Standard Webhooks secret, `whsec_<base64>`; enables its endpoint and `createDeposit` for it |",
  ],
  productionAllowed: true,
  webhookAuth: standardWebhookAuth,
  parse: parseDepasifyEvent,
};

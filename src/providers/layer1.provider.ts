import { z } from 'zod';
import { DepositStatus } from '../domain/deposit-status.js';
import type { NormalizedEvent } from '../domain/events.js';
import { whsecSecret } from '../lib/env.js';
import {
  balanceAmount,
  currencyCode,
  feeAmount,
  isoTime,
  optionalText,
  positiveAmount,
  readPayload,
  standardWebhookAuth,
  storableKey,
  validatePayload,
} from './common.js';
import type { ProviderModule } from './provider.js';

/**
 * layer1 (layer1-deposit-webhooks.txt): the depositor pays to an address whose
 * `reference` is our deposit id. Its payloads carry much more than we use;
 * the schemas let the rest through untouched and are strict about our fields.
 */

const EVENT_RE = /^layer1:(digital|crypto):(deposit:status-change|balance:updated)$/;

const Envelope = z.object({ event: z.string().min(1) });

/** Enough to tell a deposit from the other transaction types, which share the event name. */
const StatusChangeHead = z.object({
  data: z.object({ type: z.string().min(1), status: z.string().min(1) }),
});

const DepositStatusChange = z.object({
  timestamp: isoTime,
  data: z.object({
    hash: optionalText,
    asset: currencyCode,
    amount: positiveAmount,
    createdAt: isoTime,
    address: z.object({
      reference: z.string().min(1),
      network: optionalText,
    }),
    networkDetail: z.object({ fee: z.object({ amount: feeAmount }).nullish() }).nullish(),
  }),
});

const BalanceUpdated = z.object({
  timestamp: isoTime,
  data: z.object({
    address: storableKey(200),
    asset: currencyCode,
    funds: z.array(z.object({ type: z.string().min(1), balance: balanceAmount })),
  }),
});

const PROGRESS: Record<string, DepositStatus> = {
  DETECTED: DepositStatus.DETECTED,
  UNCONFIRMED: DepositStatus.CONFIRMING,
  CONFIRMED: DepositStatus.CONFIRMED,
  SCREENING_REQUESTED: DepositStatus.SCREENING,
};

function statusChange(payload: unknown): NormalizedEvent {
  const { data: head } = validatePayload(StatusChangeHead, payload);
  // Withdrawals and other types share the event: kept by the caller, never applied to a deposit.
  if (head.type !== 'DEPOSIT') return { kind: 'unsupported', providerStatus: head.status };
  const progress = Object.hasOwn(PROGRESS, head.status) ? PROGRESS[head.status] : undefined;
  if (!progress && head.status !== 'SUCCESS') return { kind: 'unsupported', providerStatus: head.status };

  const { timestamp, data } = validatePayload(DepositStatusChange, payload);
  const fee = data.networkDetail?.fee?.amount;
  return {
    kind: 'deposit',
    ref: { by: 'id', depositId: data.address.reference },
    ...(progress ? { effect: 'progress', status: progress } : { effect: 'payment', status: DepositStatus.COMPLETED }),
    providerStatus: head.status,
    amount: data.amount,
    currency: data.asset,
    ...(data.hash !== undefined && { txHash: data.hash }),
    ...(data.address.network !== undefined && { network: data.address.network }),
    ...(fee !== undefined && { fee }),
    occurredAt: timestamp,
    // When layer1 first saw the transfer: the payment time that judges lateness.
    paidAt: data.createdAt,
  };
}

function balanceUpdated(payload: unknown): NormalizedEvent {
  const { timestamp, data } = validatePayload(BalanceUpdated, payload);
  const balance = (type: string) => data.funds.find((f) => f.type === type)?.balance ?? '0';
  return {
    kind: 'wallet-balance',
    address: data.address,
    asset: data.asset,
    available: balance('AVAILABLE'),
    blockchain: balance('BLOCKCHAIN'),
    reserved: balance('RESERVED'),
    occurredAt: timestamp,
  };
}

function parseLayer1Event(body: Buffer): NormalizedEvent {
  const payload = readPayload(body);
  const { event } = validatePayload(Envelope, payload);
  const match = EVENT_RE.exec(event);
  if (!match) return { kind: 'unsupported', providerStatus: event };
  return match[2] === 'balance:updated' ? balanceUpdated(payload) : statusChange(payload);
}

/** layer1 is told nothing (no starter): the depositor pays to an address arranged with it, referenced by the deposit id. */
export const layer1: ProviderModule<'layer1', undefined> = {
  name: 'layer1',
  env: {
    variables: { WEBHOOK_SECRET_LAYER1: whsecSecret.optional() },
    secret: 'WEBHOOK_SECRET_LAYER1',
  },
  readme: [
    "| `WEBHOOK_SECRET_LAYER1` | | layer1's Standard Webhooks secret, `whsec_<base64>`; enables its endpoint and `createDeposit` for it |",
  ],
  productionAllowed: true,
  webhookAuth: standardWebhookAuth,
  parse: parseLayer1Event,
};

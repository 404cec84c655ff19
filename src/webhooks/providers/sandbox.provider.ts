import { z } from 'zod';
import { DepositStatus } from '../../domain/deposit-status.js';
import type { NormalizedEvent } from '../../domain/events.js';
import { currencyCode, joinUrl, parsePayload, positiveAmount, standardWebhookAuth } from './common.js';
import type { PaymentStarter, WebhookAdapter } from './provider.js';

/**
 * The built-in payment service of handling-deposits.txt: the gateway serves the
 * checkout page, and paying posts a Standard Webhooks-signed callback here.
 * It is ours, so its statuses are a closed set: anything else is malformed.
 */

const Paid = z.object({
  eventId: z.string().min(1),
  depositId: z.string().min(1),
  status: z.literal('PAID'),
  amount: positiveAmount,
  currency: currencyCode,
});

const Failed = z.object({
  eventId: z.string().min(1),
  depositId: z.string().min(1),
  status: z.literal('FAILED'),
  amount: positiveAmount.optional(),
  currency: currencyCode.optional(),
});

const SandboxPayload = z.discriminatedUnion('status', [Paid, Failed]);

export function parseSandboxEvent(body: Buffer): NormalizedEvent {
  const p = parsePayload(SandboxPayload, body);
  // No provider time: the sandbox pays "now", so receipt time judges lateness.
  if (p.status === 'PAID') {
    return {
      kind: 'deposit',
      ref: { by: 'id', depositId: p.depositId },
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: p.status,
      amount: p.amount,
      currency: p.currency,
    };
  }
  return {
    kind: 'deposit',
    ref: { by: 'id', depositId: p.depositId },
    effect: 'fail',
    status: DepositStatus.FAILED,
    providerStatus: p.status,
    ...(p.amount !== undefined && { amount: p.amount }),
    ...(p.currency !== undefined && { currency: p.currency }),
  };
}

export function createSandboxAdapter(secret: string): WebhookAdapter {
  return { name: 'sandbox', ...standardWebhookAuth(secret), parse: parseSandboxEvent };
}

/** The checkout is our own page: nothing to ask anyone, the link is the payment. */
export function createSandboxStarter(publicUrl: string): PaymentStarter {
  return {
    name: 'sandbox',
    async start(req) {
      return { checkoutUrl: joinUrl(publicUrl, `/sandbox/checkout/${encodeURIComponent(req.depositId)}`) };
    },
  };
}

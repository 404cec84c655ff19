import { z } from 'zod';
import { DepositStatus } from '../domain/deposit-status.js';
import type { DepositEventInput } from '../domain/events.js';
import { whsecSecret } from '../lib/env.js';
import { generateWhsecSecret } from '../lib/signatures/standard-webhooks.js';
import { currencyCode, joinUrl, parsePayload, positiveAmount, standardWebhookAuth } from './common.js';
import type { ProviderModule, StatusFetcher, StatusSources } from './provider.js';

/**
 * The built-in payment service of handling-deposits.txt: the gateway serves the
 * checkout page (`gateway/sandbox-checkout.ts`), and paying posts a Standard
 * Webhooks-signed callback here. It is ours, so its statuses are a closed set:
 * anything else is malformed. A development tool: it does not exist under production.
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

/** Paying completes the deposit, failing fails it. */
const EFFECTS = {
  PAID: { effect: 'payment', status: DepositStatus.COMPLETED },
  FAILED: { effect: 'fail', status: DepositStatus.FAILED },
} as const satisfies Record<string, Pick<DepositEventInput, 'effect' | 'status'>>;

/** The sandbox's status API: what its pay endpoint recorded (`sandbox_payment`). */
function sandboxStatusFetcher(_api: undefined, sources: StatusSources): StatusFetcher {
  return {
    async fetch(deposit) {
      const p = await sources.recordedPayment(deposit.id);
      if (!p) return { kind: 'nothing-new' };
      const ref = { by: 'id', depositId: deposit.id } as const;
      const answer = {
        depositId: deposit.id,
        status: p.status,
        amount: p.amount,
        currency: p.currency,
        paidAt: p.paidAt,
      };
      return {
        kind: 'event',
        answer,
        event: {
          kind: 'deposit',
          ref,
          ...EFFECTS[p.status],
          providerStatus: p.status,
          ...(p.amount != null && { amount: p.amount }),
          ...(p.currency != null && { currency: p.currency }),
          paidAt: p.paidAt,
        },
      };
    },
  };
}

export const sandbox: ProviderModule<'sandbox', undefined> = {
  name: 'sandbox',
  env: {
    variables: { WEBHOOK_SECRET_SANDBOX: whsecSecret.optional() },
    secret: 'WEBHOOK_SECRET_SANDBOX',
  },
  readme: [
    "| `WEBHOOK_SECRET_SANDBOX` | generated once and kept in the database, outside production only | the sandbox's Standard Webhooks secret, `whsec_<base64>`. Under `NODE_ENV=production` the sandbox does not exist: setting it stops the process |",
  ],
  productionAllowed: false,
  whyNotInProduction: 'its pay page needs no credentials',
  generateSecret: generateWhsecSecret,
  webhookAuth: standardWebhookAuth,

  parse(body) {
    const p = parsePayload(SandboxPayload, body);
    // No provider time: the sandbox pays "now", so receipt time judges lateness.
    return {
      kind: 'deposit',
      ref: { by: 'id', depositId: p.depositId },
      ...EFFECTS[p.status],
      providerStatus: p.status,
      ...(p.amount !== undefined && { amount: p.amount }),
      ...(p.currency !== undefined && { currency: p.currency }),
    };
  },

  /** The checkout is our own page: nothing to ask anyone, the link is the payment. */
  starter: (_api, links) => ({
    async start(req) {
      return { checkoutUrl: joinUrl(links.publicUrl, `/sandbox/checkout/${encodeURIComponent(req.depositId)}`) };
    },
  }),
  fetchStatus: sandboxStatusFetcher,
};

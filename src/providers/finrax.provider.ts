import { z } from 'zod';
import { DepositStatus } from '../domain/deposit-status.js';
import type { NormalizedEvent } from '../domain/events.js';
import { httpUrl, optionalNonEmpty, stripSlash, whsecSecret } from '../lib/env.js';
import { jsonNumeral, stringifyWithNumbers } from '../lib/json.js';
import {
  currencyCode,
  feeAmount,
  joinUrl,
  optionalText,
  parsePayload,
  positiveAmount,
  postJson,
  standardWebhookAuth,
  unixSeconds,
} from './common.js';
import type { PaymentStarter, ProviderModule, StartPaymentRequest } from './provider.js';

/**
 * finrax (finrax-deposit-received.txt): a payment link made through its API
 * with our deposit id as `clientPaymentId`; the deposit notification sends
 * amounts as JSON numbers, which must reach us digit for digit.
 */

const DepositReceived = z.object({
  clientPaymentId: z.string().min(1),
  status: z.string().min(1),
  actualDisplayAmount: positiveAmount,
  displayCurrency: currencyCode,
  actualDepositAmount: positiveAmount,
  depositCurrency: currencyCode,
  onChainFee: feeAmount.nullish(),
  transactionId: optionalText,
  network: optionalText,
  paymentReceivedAt: unixSeconds,
});

const PROGRESS: Record<string, { effect: 'progress' | 'payment'; status: DepositStatus }> = {
  // The instant-deposit notice: seen on chain, not yet in a block.
  UNCONFIRMED: { effect: 'progress', status: DepositStatus.CONFIRMING },
  CONFIRMED: { effect: 'payment', status: DepositStatus.COMPLETED },
};

function parseFinraxEvent(body: Buffer): NormalizedEvent {
  const p = parsePayload(DepositReceived, body);
  const mapped = Object.hasOwn(PROGRESS, p.status) ? PROGRESS[p.status] : undefined;
  if (!mapped) return { kind: 'unsupported', providerStatus: p.status };
  return {
    kind: 'deposit',
    ref: { by: 'id', depositId: p.clientPaymentId },
    ...mapped,
    providerStatus: p.status,
    // Both readings of the money: the rules judge whichever is in the deposit's currency.
    amount: p.actualDisplayAmount,
    currency: p.displayCurrency,
    alternative: { amount: p.actualDepositAmount, currency: p.depositCurrency },
    ...(p.onChainFee != null && { fee: p.onChainFee }),
    ...(p.transactionId !== undefined && { txHash: p.transactionId }),
    ...(p.network !== undefined && { network: p.network }),
    occurredAt: p.paymentReceivedAt,
    paidAt: p.paymentReceivedAt,
  };
}

interface FinraxApiSettings {
  apiUrl: string;
  apiKey: string;
}

const PaymentCreated = z.object({
  paymentId: z.string().min(1),
  paymentUrl: z.url(),
});

/** The request body of `POST /payments`; an open amount sends no `expectedDisplayAmount`. */
function finraxPaymentBody(req: StartPaymentRequest): string {
  return stringifyWithNumbers({
    clientPaymentId: req.depositId,
    displayCurrency: req.currency.toUpperCase(),
    ...(req.amount !== undefined && { expectedDisplayAmount: jsonNumeral(req.amount) }),
    ...(req.redirectUrl !== undefined && { redirectUrl: req.redirectUrl }),
  });
}

function finraxStarter(api: FinraxApiSettings): PaymentStarter {
  return {
    async start(req, signal) {
      const payment = await postJson({
        provider: 'finrax',
        url: joinUrl(api.apiUrl, '/payments'),
        headers: { 'x-api-key': api.apiKey },
        body: finraxPaymentBody(req),
        answer: PaymentCreated,
        signal,
      });
      return { checkoutUrl: payment.paymentUrl, providerRef: payment.paymentId };
    },
  };
}

export const finrax: ProviderModule<'finrax', FinraxApiSettings> = {
  name: 'finrax',
  env: {
    variables: {
      WEBHOOK_SECRET_FINRAX: whsecSecret.optional(),
      FINRAX_API_URL: httpUrl.optional(),
      FINRAX_API_KEY: optionalNonEmpty,
    },
    secret: 'WEBHOOK_SECRET_FINRAX',
    api: {
      variables: ['FINRAX_API_URL', 'FINRAX_API_KEY'],
      read: (v) => ({ apiUrl: stripSlash(v.FINRAX_API_URL!), apiKey: v.FINRAX_API_KEY! }),
    },
  },
  readme: [
    "| `WEBHOOK_SECRET_FINRAX` | | finrax's Standard Webhooks secret, `whsec_<base64>`; enables its endpoint |",
    "| `FINRAX_API_URL`, `FINRAX_API_KEY` | | finrax's payments API; both enable `createDeposit` for finrax |",
  ],
  productionAllowed: true,
  webhookAuth: standardWebhookAuth,
  parse: parseFinraxEvent,
  starter: finraxStarter,
};

import { z } from 'zod';
import { DepositStatus } from '../../domain/deposit-status.js';
import type { NormalizedEvent } from '../../domain/events.js';
import { jsonNumeral, stringifyWithNumbers } from '../json.js';
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
import type { PaymentStarter, StartPaymentRequest, WebhookAdapter } from './provider.js';

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

export function parseFinraxEvent(body: Buffer): NormalizedEvent {
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

export function createFinraxAdapter(secret: string): WebhookAdapter {
  return { name: 'finrax', ...standardWebhookAuth(secret), parse: parseFinraxEvent };
}

export interface FinraxApiSettings {
  apiUrl: string;
  apiKey: string;
}

const PaymentCreated = z.object({
  paymentId: z.string().min(1),
  paymentUrl: z.url(),
});

/** The request body of `POST /payments`; an open amount sends no `expectedDisplayAmount`. */
export function finraxPaymentBody(req: StartPaymentRequest): string {
  return stringifyWithNumbers({
    clientPaymentId: req.depositId,
    displayCurrency: req.currency.toUpperCase(),
    ...(req.amount !== undefined && { expectedDisplayAmount: jsonNumeral(req.amount) }),
    ...(req.redirectUrl !== undefined && { redirectUrl: req.redirectUrl }),
  });
}

export function createFinraxStarter(api: FinraxApiSettings): PaymentStarter {
  return {
    name: 'finrax',
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

import { z } from 'zod';
import { DepositStatus } from '../domain/deposit-status.js';
import type { DepositEventInput, NormalizedEvent, UnsupportedEventInput } from '../domain/events.js';
import { ProviderUnavailableError } from '../lib/errors.js';
import { httpUrl, optionalNonEmpty, stripSlash, whsecSecret } from '../lib/env.js';
import { jsonNumeral, stringifyWithNumbers } from '../lib/json.js';
import {
  currencyCode,
  feeAmount,
  getJson,
  joinUrl,
  NOT_FOUND,
  validateAnswer,
  optionalText,
  parsePayload,
  positiveAmount,
  postJson,
  standardWebhookAuth,
  unixSeconds,
} from './common.js';
import type { PaymentStarter, ProviderModule, StartPaymentRequest, StatusFetcher } from './provider.js';

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
  return mapDepositReceived(parsePayload(DepositReceived, body));
}

function mapDepositReceived(p: z.output<typeof DepositReceived>): NormalizedEvent {
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

/** `GET /payments/{paymentId}`: its notification's fields once money is seen, at least a status before. */
const PaymentReport = z.object({
  status: z.string().min(1),
  clientPaymentId: z.string().min(1).optional(),
});

/** PENDING: nothing paid yet (kept once in the timeline); EXPIRED: the payment link expired unpaid. */
const UNPAID: Record<string, Pick<DepositEventInput, 'effect' | 'status'>> = {
  PENDING: { effect: 'record', status: DepositStatus.PENDING },
  EXPIRED: { effect: 'expire', status: DepositStatus.EXPIRED },
};

/** A payment report mapped like its notification; the deposit is the one asked about (`depositId`). */
export function mapPaymentReport(depositId: string, answer: unknown): DepositEventInput | UnsupportedEventInput {
  const head = validateAnswer('finrax', PaymentReport, answer);
  // An answer about another payment is not an answer about this one.
  if (head.clientPaymentId !== undefined && head.clientPaymentId !== depositId) {
    throw new ProviderUnavailableError('finrax', 'answered about another payment (clientPaymentId)');
  }
  if (Object.hasOwn(PROGRESS, head.status)) {
    const event = mapDepositReceived(
      validateAnswer('finrax', DepositReceived, { ...(answer as object), clientPaymentId: depositId }),
    );
    return event as DepositEventInput;
  }
  const unpaid = Object.hasOwn(UNPAID, head.status) ? UNPAID[head.status] : undefined;
  if (!unpaid) return { kind: 'unsupported', providerStatus: head.status };
  return { kind: 'deposit', ref: { by: 'id', depositId }, ...unpaid, providerStatus: head.status };
}

function finraxStatusFetcher(api: FinraxApiSettings): StatusFetcher {
  return {
    async fetch(deposit, signal) {
      // The paymentId its create answer gave: without it finrax cannot be asked.
      if (!deposit.providerRef) return { kind: 'not-found' };
      const answer = await getJson({
        provider: 'finrax',
        url: joinUrl(api.apiUrl, `/payments/${encodeURIComponent(deposit.providerRef)}`),
        headers: { 'x-api-key': api.apiKey },
        signal,
      });
      if (answer === NOT_FOUND) return { kind: 'not-found' };
      return { kind: 'event', event: mapPaymentReport(deposit.id, answer), answer };
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
  fetchStatus: finraxStatusFetcher,
};

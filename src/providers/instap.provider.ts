import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DepositStatus } from '../domain/deposit-status.js';
import type { DepositEventInput, NormalizedEvent } from '../domain/events.js';
import { httpUrl, optionalNonEmpty, stripSlash } from '../lib/env.js';
import { jsonNumeral, stringifyWithNumbers } from '../lib/json.js';
import { payloadHash, verifyPayloadHash } from '../lib/signatures/payload-hash.js';
import {
  currencyCode,
  getJson,
  joinUrl,
  NOT_FOUND,
  positiveAmount,
  postJson,
  readPayload,
  validateAnswer,
  validatePayload,
} from './common.js';
import type { PaymentStarter, ProviderModule, StartPaymentRequest, StatusFetcher, WebhookAuth } from './provider.js';

/**
 * instap (deposit-tracking-session.txt): a deposit tracking session created
 * through its API, matched afterwards by its `sessionToken`; both directions
 * are signed with `x-payload-hash` (HMAC-SHA512 of the exact body text).
 */

const Session = z.object({
  sessionToken: z.string().min(1),
  sessionState: z.string().min(1),
});

/** Only a completed session carries money we judge; the other states may come without it. */
const CompletedSession = z.object({
  paidAmount: positiveAmount,
  paidCurrency: currencyCode,
});

const STATE_EFFECTS: Record<string, Pick<DepositEventInput, 'effect' | 'status'>> = {
  NEW: { effect: 'record', status: DepositStatus.PENDING },
  EXPIRED: { effect: 'expire', status: DepositStatus.EXPIRED },
  FAILED: { effect: 'fail', status: DepositStatus.FAILED },
};

function parseInstapEvent(body: Buffer): NormalizedEvent {
  const payload = readPayload(body);
  const s = validatePayload(Session, payload);
  const ref = { by: 'providerRef', providerRef: s.sessionToken } as const;
  if (s.sessionState === 'COMPLETED') {
    const paid = validatePayload(CompletedSession, payload);
    return {
      kind: 'deposit',
      ref,
      effect: 'payment',
      status: DepositStatus.COMPLETED,
      providerStatus: s.sessionState,
      amount: paid.paidAmount,
      currency: paid.paidCurrency,
    };
  }
  const mapped = Object.hasOwn(STATE_EFFECTS, s.sessionState) ? STATE_EFFECTS[s.sessionState] : undefined;
  // A state instap adds later is acknowledged and kept, not refused: refusing makes it retry forever.
  if (!mapped) return { kind: 'unsupported', providerStatus: s.sessionState };
  return { kind: 'deposit', ref, ...mapped, providerStatus: s.sessionState };
}

/** @param secret WEBHOOK_SECRET_INSTAP, used as a raw UTF-8 string. */
function instapWebhookAuth(secret: string): WebhookAuth {
  return {
    verify(req) {
      verifyPayloadHash(secret, req.body, req.headers['x-payload-hash']);
    },
    dedupeKey(req) {
      // instap sends no delivery id: the same bytes are the same delivery.
      return createHash('sha256').update(req.body).digest('hex');
    },
  };
}

/** The fiat currencies a session can be opened in (deposit-tracking-session.txt). */
const INSTAP_CURRENCIES: readonly string[] = ['USD', 'EUR', 'GBP', 'KRW', 'BRL', 'TRY'];

interface InstapApiSettings {
  apiUrl: string;
  apiKey: string;
  /** INSTAP_HMAC_SECRET: signs our requests (not the webhook secret). */
  hmacSecret: string;
}

const SessionCreated = z.object({
  sessionToken: z.string().min(1),
  checkOutUrl: z.url(),
});

/** The request body of `POST /pgpub/session`, amounts as JSON numbers with their exact text. */
function instapSessionBody(req: StartPaymentRequest): string {
  // A fixed amount is a range of one point, so instap's own correct/under/over agrees with ours.
  const min = req.amount ?? req.minAmount;
  const max = req.amount ?? req.maxAmount;
  return stringifyWithNumbers({
    userId: req.userId,
    userName: req.userName,
    ...(req.userEmail !== undefined && { userEmail: req.userEmail }),
    ...(req.language !== undefined && { sessionDefaultLanguage: req.language }),
    sessionDefaultFiatCurrency: req.currency.toUpperCase(),
    ...(min !== undefined && { minPaymentAmountInUSD: jsonNumeral(min) }),
    ...(max !== undefined && { maxPaymentAmountInUSD: jsonNumeral(max) }),
    ...(req.redirectUrl !== undefined && { redirectUrl: req.redirectUrl }),
  });
}

function instapStarter(api: InstapApiSettings): PaymentStarter {
  return {
    validate(req) {
      if (INSTAP_CURRENCIES.includes(req.currency.toUpperCase())) return undefined;
      return { field: 'currency', message: `instap takes only ${INSTAP_CURRENCIES.join(', ')}` };
    },
    async start(req, signal) {
      const body = instapSessionBody(req);
      const session = await postJson({
        provider: 'instap',
        url: joinUrl(api.apiUrl, '/pgpub/session'),
        // Signed over the very text sent: instap refuses anything else with errorHmacDoesNotMatch.
        headers: { 'x-api-key': api.apiKey, 'x-payload-hash': payloadHash(api.hmacSecret, body) },
        body,
        answer: SessionCreated,
        signal,
      });
      return { checkoutUrl: session.checkOutUrl, providerRef: session.sessionToken };
    },
  };
}

/**
 * The answer of `GET /pgpub/session/{sessionToken}` (deposit-tracking-session.txt): the state,
 * and the money where instap gives it (the seed prints only the state and the checkout link).
 */
const SessionReport = z.object({
  sessionState: z.string().min(1),
  checkOutUrl: z.string().optional(),
  paidAmount: positiveAmount.nullish(),
  paidCurrency: currencyCode.nullish(),
});

/** A session report mapped like its webhook; COMPLETED without both amount and currency judges nothing. */
export function mapSessionReport(
  sessionToken: string,
  r: z.output<typeof SessionReport>,
): DepositEventInput | { kind: 'unsupported'; providerStatus: string } {
  const ref = { by: 'providerRef', providerRef: sessionToken } as const;
  if (r.sessionState === 'COMPLETED') {
    if (r.paidAmount != null && r.paidCurrency != null) {
      return {
        kind: 'deposit',
        ref,
        effect: 'payment',
        status: DepositStatus.COMPLETED,
        providerStatus: r.sessionState,
        amount: r.paidAmount,
        currency: r.paidCurrency,
      };
    }
    return {
      kind: 'deposit',
      ref,
      effect: 'paid-unreported',
      status: DepositStatus.CONFIRMED,
      providerStatus: r.sessionState,
    };
  }
  const mapped = Object.hasOwn(STATE_EFFECTS, r.sessionState) ? STATE_EFFECTS[r.sessionState] : undefined;
  if (!mapped) return { kind: 'unsupported', providerStatus: r.sessionState };
  return { kind: 'deposit', ref, ...mapped, providerStatus: r.sessionState };
}

function instapStatusFetcher(api: InstapApiSettings): StatusFetcher {
  return {
    async fetch(deposit, signal) {
      // Without its session token instap cannot be asked about it: it knows no such payment.
      if (!deposit.providerRef) return { kind: 'not-found' };
      const answer = await getJson({
        provider: 'instap',
        url: joinUrl(api.apiUrl, `/pgpub/session/${encodeURIComponent(deposit.providerRef)}`),
        headers: { 'content-type': 'application/json', 'x-api-key': api.apiKey },
        signal,
      });
      if (answer === NOT_FOUND) return { kind: 'not-found' };
      const report = validateAnswer('instap', SessionReport, answer);
      return { kind: 'event', event: mapSessionReport(deposit.providerRef, report), answer };
    },
  };
}

export const instap: ProviderModule<'instap', InstapApiSettings> = {
  name: 'instap',
  env: {
    variables: {
      WEBHOOK_SECRET_INSTAP: optionalNonEmpty,
      INSTAP_API_URL: httpUrl.optional(),
      INSTAP_API_KEY: optionalNonEmpty,
      INSTAP_HMAC_SECRET: optionalNonEmpty,
    },
    secret: 'WEBHOOK_SECRET_INSTAP',
    api: {
      variables: ['INSTAP_API_URL', 'INSTAP_API_KEY', 'INSTAP_HMAC_SECRET'],
      read: (v) => ({
        apiUrl: stripSlash(v.INSTAP_API_URL!),
        apiKey: v.INSTAP_API_KEY!,
        hmacSecret: v.INSTAP_HMAC_SECRET!,
      }),
    },
  },
  readme: [
    "| `WEBHOOK_SECRET_INSTAP` | | instap's webhook HMAC key (raw UTF-8); enables its endpoint |",
    "| `INSTAP_API_URL`, `INSTAP_API_KEY`, `INSTAP_HMAC_SECRET` | | instap's session API; all three enable `createDeposit` for instap |",
  ],
  productionAllowed: true,
  webhookAuth: instapWebhookAuth,
  parse: parseInstapEvent,
  // instap's session API is signed with its own key; the webhook secret only guards the way back.
  starter: instapStarter,
  fetchStatus: instapStatusFetcher,
};

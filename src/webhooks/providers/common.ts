import { z } from 'zod';
import { canonical, compare, decimalProblem, isPositive } from '../../domain/money.js';
import { ProviderUnavailableError } from '../../services/errors.js';
import { MalformedPayloadError, SignatureError } from '../errors.js';
import { parseJsonLossless } from '../json.js';
import { verifyStandardWebhook } from '../signatures/standard-webhooks.js';
import type { ProviderName, RawWebhook, WebhookAdapter } from './provider.js';

/**
 * What the provider adapters share: the zod pieces for money, currencies and
 * times (zod lives at this edge only), the Standard Webhooks half of an
 * adapter, and the outbound POST of the providers that have an API.
 */

// ---------------------------------------------------------------- payloads

/** Validates `value` with `schema`, or throws `MalformedPayloadError` naming the first bad field (`data.amount`). */
export function validatePayload<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.');
  throw new MalformedPayloadError(issue.message, field || undefined);
}

/** Parses the raw body losslessly (JSON numbers arrive as their exact text) and validates it. */
export function parsePayload<S extends z.ZodType>(schema: S, body: Buffer): z.output<S> {
  return validatePayload(schema, parseJsonLossless(body));
}

function decimal(rule: 'positive' | 'non-negative' | 'any') {
  // Strings only: parseJsonLossless hands JSON numbers over as their text, so `0.1` and `"0.1"` both land here.
  return z
    .string()
    .superRefine((s, ctx) => {
      const problem = decimalProblem(s);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `${problem} (got ${JSON.stringify(s)})` });
      } else if (rule === 'positive' && !isPositive(s)) {
        ctx.addIssue({ code: 'custom', message: `must be positive (got ${s})` });
      } else if (rule === 'non-negative' && compare(s, '0') < 0) {
        ctx.addIssue({ code: 'custom', message: `must not be negative (got ${s})` });
      }
    })
    .transform((s) => canonical(s));
}

/** A paid or requested amount: a positive decimal we can store exactly, emitted canonical. */
export const positiveAmount = decimal('positive');
/** A fee: zero is fine, negative is not. */
export const feeAmount = decimal('non-negative');
/** A wallet balance: any exact decimal, zero included. */
export const balanceAmount = decimal('any');

/** Upper-cased; whether it is the deposit's currency is judged later, not here. */
export const currencyCode = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(/^[A-Z0-9_.-]{1,20}$/, 'must be a currency code'));

/** ISO 8601 with a zone (`2024-06-05T20:40:16.941138099Z`; digits past milliseconds are dropped). */
export const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** Unix seconds, as a JSON number or a string of digits (a timestamp, not money: a JS number is fine). */
export const unixSeconds = z
  .string()
  .regex(/^\d{1,12}(\.\d+)?$/, 'must be unix seconds')
  .transform((s) => new Date(Math.round(Number(s) * 1000)));

/** A key we store in a column of `max` characters (user ids, addresses): longer, or with NUL, cannot be stored. */
export function storableKey(max: number) {
  return z
    .string()
    .min(1)
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
}

/** A string we only keep (tx hash, network): absent or null means "not given". */
export const optionalText = z
  .string()
  .nullish()
  .transform((s) => (s ? s : undefined));

// ---------------------------------------------------------------- Standard Webhooks

/** `verify` and `dedupeKey` for a provider that signs with Standard Webhooks. */
export function standardWebhookAuth(secret: string): Pick<WebhookAdapter, 'verify' | 'dedupeKey'> {
  return {
    verify(req: RawWebhook, now: Date): void {
      verifyStandardWebhook(secret, req.body, req.headers, now);
    },
    dedupeKey(req: RawWebhook): string {
      // The provider keeps webhook-id across its retries; the body's own ids are data.
      const id = req.headers['webhook-id'];
      if (!id) throw new SignatureError('MISSING_SIGNATURE_HEADERS', 'webhook-id header is required');
      return id;
    },
  };
}

// ---------------------------------------------------------------- outbound

/** `base` without trailing slashes, so `${base}/path` never doubles one. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export interface PostJsonOptions<S extends z.ZodType> {
  provider: ProviderName;
  url: string;
  headers: Record<string, string>;
  /** The exact text sent, already serialized (signatures are computed over it). */
  body: string;
  answer: S;
  signal: AbortSignal;
}

/**
 * POSTs `body` and validates the JSON answer. Every way the call can go wrong
 * (network, abort, non-2xx, unreadable or incomplete answer) is one
 * `ProviderUnavailableError`: `createDeposit` fails and stores nothing.
 */
export async function postJson<S extends z.ZodType>(o: PostJsonOptions<S>): Promise<z.output<S>> {
  let status: number;
  let text: string;
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...o.headers },
      body: o.body,
      signal: o.signal,
      // A redirect would carry x-api-key to wherever it points; the API URL is configured, so follow none.
      redirect: 'error',
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    const reason = o.signal.aborted ? 'no answer before the timeout' : `request failed (${(err as Error).message})`;
    throw new ProviderUnavailableError(o.provider, reason);
  }
  if (status < 200 || status > 299) {
    throw new ProviderUnavailableError(o.provider, `answered HTTP ${status}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProviderUnavailableError(o.provider, 'answered something that is not JSON');
  }
  const parsed = o.answer.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProviderUnavailableError(
      o.provider,
      `unusable answer (${issue.path.map(String).join('.')}: ${issue.message})`,
    );
  }
  return parsed.data;
}

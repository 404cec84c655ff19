import { z } from 'zod';
import { canonical, compare, decimalProblem, isPositive } from '../domain/money.js';
import { MalformedPayloadError, ProviderUnavailableError, SignatureError } from '../lib/errors.js';
import { stripSlash } from '../lib/env.js';
import { parseJsonLossless } from '../lib/json.js';
import { verifyStandardWebhook } from '../lib/signatures/standard-webhooks.js';
import type { RawWebhook, WebhookAuth } from './provider.js';

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

/**
 * The body as JSON, for every provider: numbers arrive as their exact text (never a float),
 * and every string and key is text Postgres can store as sent, or the whole body is refused
 * (400, naming the first bad field) before anything is stored or acknowledged. Checked over
 * the whole tree, once, so no schema can forget a field, including fields added later.
 */
export function readPayload(body: Buffer): unknown {
  const payload = parseJsonLossless(body);
  refuseUnstorableText(payload);
  return payload;
}

/** Parses the raw body with `readPayload` and validates it. */
export function parsePayload<S extends z.ZodType>(schema: S, body: Buffer): z.output<S> {
  return validatePayload(schema, readPayload(body));
}

// Code units, not code points (no `u` flag): a surrogate without its partner.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `s` cannot be stored in a Postgres `text` column exactly as sent, or `undefined`.
 * Postgres refuses NUL outright (the event would be acknowledged and then never applied);
 * a lone surrogate has no UTF-8 form, so the driver would store U+FFFD in its place.
 */
function unstorableText(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL characters (\\u0000): Postgres text cannot hold them';
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode: a lone surrogate (\\ud800-\\udfff) cannot be stored';
  return undefined;
}

type Path = { key: string; up: Path } | undefined;

function pathText(path: Path): string {
  const keys: string[] = [];
  for (let p = path; p; p = p.up) keys.push(JSON.stringify(p.key).slice(1, -1));
  return keys.reverse().join('.');
}

/** Throws `MalformedPayloadError` naming the first string or key, in document order, that `unstorableText` refuses. */
function refuseUnstorableText(root: unknown): void {
  // A loop, not recursion: the parser took the nesting, and a walk of deeper frames must not overflow.
  const stack: { value: unknown; path: Path }[] = [{ value: root, path: undefined }];
  const refuse = (text: string, path: Path) => {
    const problem = unstorableText(text);
    if (problem) throw new MalformedPayloadError(problem, pathText(path) || undefined);
  };
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      refuse(value, path);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: { key: String(i), up: path } });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (const [key] of entries) refuse(key, { key, up: path });
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i][1], path: { key: entries[i][0], up: path } });
      }
    }
  }
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

/**
 * A provider's time as `timestamptz` takes it: Postgres refuses the year 0 and years past
 * 9999 as we write them, and no payment happened before 1970. Outside: malformed (400),
 * never an event acknowledged and then impossible to apply.
 */
const storableTime = z
  .date({ error: 'must be a valid time' })
  .min(new Date('1970-01-01T00:00:00Z'), 'must not be before 1970')
  .max(new Date('9999-12-31T23:59:59.999Z'), 'must be before the year 10000');

/** ISO 8601 with a zone (`2024-06-05T20:40:16.941138099Z`; digits past milliseconds are dropped). */
export const isoTime = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .pipe(storableTime);

/**
 * Unix seconds, as a JSON number in any of its forms (`1717620062`, `1.717620062E9`) or such a
 * string. Read by the one decimal parser; a timestamp, not money, so a JS number may hold it then.
 */
export const unixSeconds = z
  .string()
  .refine((s) => decimalProblem(s) === undefined && !s.startsWith('-'), 'must be unix seconds')
  .transform((s) => new Date(Math.round(Number(canonical(s)) * 1000)))
  .pipe(storableTime);

/** A key we store in a column of `max` characters (user ids, addresses): longer cannot be stored. */
export function storableKey(max: number) {
  return z.string().min(1).max(max, `must be at most ${max} characters`);
}

/** A string we only keep (tx hash, network): absent or null means "not given". */
export const optionalText = z
  .string()
  .nullish()
  .transform((s) => (s ? s : undefined));

// ---------------------------------------------------------------- Standard Webhooks

/** The `webhookAuth` of a provider that signs with Standard Webhooks. */
export function standardWebhookAuth(secret: string): WebhookAuth {
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
  return `${stripSlash(base)}${path}`;
}

export interface PostJsonOptions<S extends z.ZodType> {
  provider: string;
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

export interface GetJsonOptions {
  provider: string;
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}

/**
 * GETs a status answer: its JSON, parsed without loss (money stays its exact text) and with
 * only text Postgres can store, or `not-found` for a 404 (the provider does not know it).
 * Every other way it can go wrong (network, abort, redirect, another non-2xx, not JSON) is a
 * `ProviderUnavailableError`: a sync that cannot ask changes nothing.
 */
export async function getJson(o: GetJsonOptions): Promise<unknown> {
  let status: number;
  let body: Buffer;
  try {
    const res = await fetch(o.url, {
      method: 'GET',
      headers: { accept: 'application/json', ...o.headers },
      signal: o.signal,
      // A redirect would carry x-api-key to wherever it points.
      redirect: 'error',
    });
    status = res.status;
    body = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    const reason = o.signal.aborted ? 'no answer before the timeout' : `request failed (${(err as Error).message})`;
    throw new ProviderUnavailableError(o.provider, reason);
  }
  if (status === 404) return NOT_FOUND;
  if (status < 200 || status > 299) throw new ProviderUnavailableError(o.provider, `answered HTTP ${status}`);
  try {
    return readPayload(body);
  } catch (err) {
    throw new ProviderUnavailableError(o.provider, `answered something unusable (${(err as Error).message})`);
  }
}

/** `getJson`'s answer to a 404. */
export const NOT_FOUND: unique symbol = Symbol('not found');

/** Validates a status answer: anything but the provider's shape is `ProviderUnavailableError`, nothing stored. */
export function validateAnswer<S extends z.ZodType>(provider: string, schema: S, value: unknown): z.output<S> {
  try {
    return validatePayload(schema, value);
  } catch (err) {
    throw new ProviderUnavailableError(provider, `unusable answer (${(err as Error).message})`);
  }
}

import { MalformedPayloadError, SignatureError } from '../lib/errors.js';
import { isProviderName } from '../providers/index.js';
import type { RawWebhook } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { inboxKey } from '../store/inbox.store.js';
import { sidecarStamps, statusTraceEnabled, traceNow } from '../lib/trace.js';
import type { ApplyResult, EventApplier } from './apply/event-applier.js';

/**
 * A webhook delivery from arrival to commit, whatever the transport: provider, signature
 * over the raw bytes, shape, then the durable store and the rules (`EventApplier.ingest`).
 * Each way a delivery can end is one outcome; the sidecar's route maps it to its HTTP answer.
 */

export interface Delivered {
  /** The provider named by the request (`POST /webhooks/<provider>`), as sent. */
  provider: string;
  body: Buffer;
  /** Lower-cased. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Who sent it (the client address): failed verifications are counted per provider and sender. */
  sender: string;
  requestId: string;
  /** Wall-clock ms the route got it (`traceNow()`), set only with `STATUS_TRACE=1`. */
  receivedAt?: number;
}

export type IntakeOutcome =
  | { kind: 'unknown-provider' }
  | { kind: 'not-configured' }
  /** Too many failed verifications from this sender lately: refused before verifying. */
  | { kind: 'throttled' }
  | { kind: 'invalid-signature'; error: SignatureError }
  | { kind: 'malformed'; error: MalformedPayloadError }
  /** Nothing acknowledged: storage failed or did not answer in time (if it still commits, the retry is a duplicate). */
  | { kind: 'unavailable'; error: unknown }
  | { kind: 'duplicate' }
  | { kind: 'accepted'; inboxId: string; result: ApplyResult };

export interface WebhookIntakeDeps {
  providers: ProviderRegistry;
  applier: EventApplier;
  /** Verification failures allowed per provider and sender per minute before `throttled`. */
  failuresPerMinute?: number;
  /** The most storing may take before the outcome is `unavailable` (the contract answers within 10 seconds). */
  deadlineMs?: number;
}

/** Kept with the event so it can be re-verified and audited; everything else about the request is noise. */
const KEPT_HEADERS = [
  'content-type',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-payload-hash',
  'x-request-id',
];

export class WebhookIntake {
  private readonly limiter: FailureLimiter;
  /** `STATUS_TRACE=1`: the changes an accepted webhook made are stamped for the relay (`lib/trace.ts`). */
  private readonly trace = statusTraceEnabled();

  constructor(private readonly d: WebhookIntakeDeps) {
    this.limiter = new FailureLimiter(d.failuresPerMinute ?? 600);
  }

  async receive(w: Delivered): Promise<IntakeOutcome> {
    if (!isProviderName(w.provider)) return { kind: 'unknown-provider' };
    const adapter = this.d.providers.webhook(w.provider);
    if (!adapter) return { kind: 'not-configured' };
    const limitKey = `${w.provider}|${w.sender}`;
    if (this.limiter.exhausted(limitKey)) return { kind: 'throttled' };

    const raw: RawWebhook = { body: w.body, headers: w.headers };
    try {
      adapter.verify(raw, new Date());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      this.limiter.fail(limitKey);
      return { kind: 'invalid-signature', error: err };
    }
    let event;
    try {
      event = adapter.parse(w.body);
    } catch (err) {
      if (!(err instanceof MalformedPayloadError)) throw err;
      return { kind: 'malformed', error: err };
    }

    const deadlineMs = this.d.deadlineMs ?? 8500;
    try {
      const stored = await withDeadline(
        this.d.applier.ingest(
          {
            provider: w.provider,
            dedupeKey: inboxKey(adapter.dedupeKey(raw)),
            headers: storableHeaders(w.headers),
            body: w.body.toString('utf8'),
            event,
            requestId: w.requestId,
          },
          { deadline: Date.now() + deadlineMs },
        ),
        deadlineMs,
      );
      if (stored.status === 'duplicate') return { kind: 'duplicate' };
      if (this.trace && stored.result.depositId) {
        const committed = traceNow();
        for (const c of stored.result.changes) {
          sidecarStamps.record(stored.result.depositId, c.to, w.receivedAt ?? committed, committed);
        }
      }
      return { kind: 'accepted', ...stored };
    } catch (err) {
      return { kind: 'unavailable', error: err };
    }
  }
}

function storableHeaders(h: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of KEPT_HEADERS) if (h[k] !== undefined) out[k] = h[k]!;
  return out;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`storage did not answer within ${ms} ms (timeout)`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Counts failed verifications per provider and sender in a sliding minute. Only failures
 * count, so a flood of bad signatures is cut off while the provider's real (valid)
 * deliveries from elsewhere keep flowing. Per process: each sidecar protects itself.
 */
class FailureLimiter {
  private readonly windows = new Map<string, { start: number; n: number }>();
  constructor(private readonly perMinute: number) {}

  exhausted(key: string): boolean {
    const w = this.windows.get(key);
    return !!w && Date.now() - w.start < 60_000 && w.n >= this.perMinute;
  }

  fail(key: string): void {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 50_000) this.windows.clear();
      this.windows.set(key, { start: now, n: 1 });
    } else w.n++;
  }
}

import type pg from 'pg';
import { depositChannel, tenantChannel, type StatusBus } from '../bus/status-bus.js';
import type { Metrics } from '../observability/metrics.js';
import { changesAfter, latestSeq, type ChangeFilter, type StatusMessage } from '../store/outbox.store.js';
import { BadUserInputError } from '../lib/errors.js';
import { decodeStatusCursor } from './status-cursor.js';
import { statusTraceEnabled, traceNow } from '../lib/trace.js';

/** Which changes a subscription sees: its tenant's, narrowed to a deposit or a user. */
export type StatusFilter = ChangeFilter;

/** A slow consumer is cut off rather than buffered without bound. */
const MAX_BUFFERED = 10_000;
const REPLAY_PAGE = 500;
/** The most `statusChanges` returns at once. */
export const MAX_FEED_PAGE = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The gateway side of live status: Redis for latency, Postgres for
 * completeness. A subscription listens first, then reads what it may have
 * missed (everything after its cursor) from the outbox, then goes live;
 * everything passes one serial queue and is dropped if its `seq` was already
 * delivered, so the seam has no gap and no duplicate. When the Redis
 * subscriber reconnects, every open subscription catches up the same way.
 */
export class StatusStream {
  private open = 0;
  private readonly trace = statusTraceEnabled();

  constructor(
    private readonly pool: pg.Pool,
    private readonly bus: StatusBus,
    private readonly prefix: string,
    private readonly metrics?: Metrics,
  ) {}

  openCount(): number {
    return this.open;
  }

  /**
   * The events feed (`statusChanges`): up to `first` changes after `after`, oldest first, read
   * with the replay's own query, so its cursors and the subscription's are one and the same.
   */
  async page(
    filter: StatusFilter,
    after: string | null | undefined,
    first: number,
  ): Promise<{ messages: StatusMessage[]; hasNextPage: boolean }> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_FEED_PAGE) {
      throw new BadUserInputError('first', `must be between 1 and ${MAX_FEED_PAGE}`);
    }
    if (filter.depositId !== undefined && !UUID.test(filter.depositId)) {
      throw new BadUserInputError('depositId', 'is not a deposit id');
    }
    const afterSeq = after != null ? decodeStatusCursor(after) : 0n;
    const rows = await changesAfter(this.pool, filter, afterSeq, first + 1);
    return { messages: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async subscribe(filter: StatusFilter, after?: string | null): Promise<AsyncIterableIterator<StatusMessage>> {
    const afterSeq = after != null ? decodeStatusCursor(after) : undefined;
    // Live messages queue up behind the start (the replay after the cursor) until it has run.
    const live = new LiveChanges(this.pool, filter, afterSeq !== undefined);
    const channel = filter.depositId
      ? depositChannel(this.prefix, filter.depositId)
      : tenantChannel(this.prefix, filter.tenantId);
    const unsubscribe = await this.bus.subscribe(channel, (raw) => {
      // STATUS_TRACE=1: stamped on arrival, before it waits in the subscription's queue.
      const at = this.trace ? traceNow() : 0;
      live.enqueue(() => {
        const m = JSON.parse(raw) as StatusMessage;
        if (m.trace) m.trace.gateway = at;
        live.accept(m);
      });
    });
    // Without a cursor the stream starts at the newest change when the channel is live, fixed before this
    // returns: every change sequenced once the subscription is counted open is delivered. A failure here
    // fails the subscription instead of leaving a rejected start that nothing awaits.
    try {
      live.lastSeq = afterSeq ?? (await latestSeq(this.pool));
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const offReconnect = this.bus.onReconnect(() => live.enqueue(() => live.catchUp()));
    this.open++;
    this.metrics?.subscriptionsOpen.inc();
    live.queue.onClose(() => {
      unsubscribe();
      offReconnect();
      this.open--;
      this.metrics?.subscriptionsOpen.dec();
    });
    live.start();
    return live.queue;
  }
}

/**
 * One subscription's state: what it has delivered (`lastSeq`) and the serial chain its replays and
 * live messages pass. Fields and methods rather than closures: thousands are open at once, mostly idle,
 * and one object holds less than a closure per step (bench scenario 4).
 */
class LiveChanges {
  readonly queue = new AsyncQueue<StatusMessage>();
  lastSeq = 0n;
  private chain: Promise<void>;
  private opened?: () => void;

  constructor(
    private readonly pool: pg.Pool,
    private readonly filter: StatusFilter,
    replayFirst: boolean,
  ) {
    this.chain = new Promise<void>((resolve) => (this.opened = resolve)).then(() =>
      replayFirst ? this.catchUp() : undefined,
    );
  }

  /** Lets the queued messages through (after the replay, if there is one). */
  start(): void {
    this.opened?.();
    this.opened = undefined;
  }

  enqueue(task: () => Promise<void> | void): void {
    this.chain = this.chain.then(task).catch((err: unknown) => this.queue.fail(err as Error));
  }

  accept(m: StatusMessage): void {
    const seq = BigInt(m.seq);
    if (seq <= this.lastSeq || !matches(this.filter, m)) return;
    this.lastSeq = seq;
    if (this.queue.size() >= MAX_BUFFERED)
      this.queue.fail(new Error('subscriber too slow: too many undelivered status changes'));
    else this.queue.push(m);
  }

  async catchUp(): Promise<void> {
    for (;;) {
      const missed = await changesAfter(this.pool, this.filter, this.lastSeq, REPLAY_PAGE);
      for (const m of missed) this.accept(m);
      if (missed.length < REPLAY_PAGE) return;
    }
  }
}

function matches(f: StatusFilter, m: StatusMessage): boolean {
  return (
    m.tenantId === f.tenantId && (!f.depositId || m.depositId === f.depositId) && (!f.userId || m.userId === f.userId)
  );
}

/** A push-to-pull queue: the async iterator graphql-ws consumes. `return()` (client gone) runs the cleanup once. */
class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void }[] = [];
  private error?: Error;
  private done = false;
  private cleanup: (() => void)[] = [];

  onClose(fn: () => void): void {
    this.cleanup.push(fn);
  }

  size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.done) return;
    const w = this.waiting.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  fail(err: Error): void {
    if (this.done) return;
    this.error = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    for (const w of this.waiting.splice(0)) w.resolve({ value: undefined, done: true });
    const fns = this.cleanup;
    this.cleanup = [];
    for (const fn of fns) fn();
  }
}

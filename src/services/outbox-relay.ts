import pg from 'pg';
import { depositChannel, tenantChannel, type StatusBus } from '../bus/status-bus.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { sidecarStamps, statusTraceEnabled, traceNow } from '../lib/trace.js';
import { listenForChanges, markPublished, sequenceNext, unpublishedAgeSeconds } from '../store/outbox.store.js';

const RELAY_LOCK_KEY = 7_301_914_402;

export interface OutboxRelayOptions {
  /** The pool MikroORM manages: the outbox store's statements run on it. */
  pool: pg.Pool;
  bus: StatusBus;
  /** Redis key/channel prefix of this deployment. */
  prefix: string;
  /** For the dedicated LISTEN + leader-lock connection; absent with the embedded database (in-process wakes only). */
  databaseUrl: string;
  connectTimeoutMs: number;
  logger: Logger;
  metrics?: Metrics;
  /** Safety-net poll when no NOTIFY arrives. */
  pollMs?: number;
  /**
   * Changes were given their `seq` (committed): their merchant deliveries are due now. The
   * sidecar wakes its dispatcher with it, so a delivery leaves without waiting for its poll.
   */
  onSequenced?: () => void;
  batch?: number;
}

/**
 * Publishes outbox rows to Redis, in order. One relay at a time holds the
 * leader lock (a session advisory lock on its own connection, released if the
 * process dies); the others stand by, so any number of sidecars may run it.
 *
 * Two steps, so a crash never reorders anything: (1) give unsequenced rows the
 * next `seq` values in id order (the cursor order of the subscription),
 * committed; (2) publish sequenced rows in seq order, marking them published
 * only after PUBLISH succeeded. A crash between PUBLISH and the mark republishes
 * with the same seq, which subscribers drop as already seen.
 */
export class OutboxRelay {
  private client?: pg.Client;
  private leader = false;
  private timer?: NodeJS.Timeout;
  /** A wake runs the relay on the next turn of the event loop (a 0 ms timer waits at least 1 ms). */
  private immediate?: NodeJS.Immediate;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  /** The process is stopping: the connection may end (Postgres may be stopping too), and that is expected. */
  private closing = false;
  private failures = 0;
  private lagMeasuredAt = 0;
  /** The lag query of the metric, off the delivery path. */
  private lagging: Promise<void> = Promise.resolve();
  /** Highest seq PUBLISHed by this relay; the rows up to it are being marked, off the delivery path. */
  private publishedUpTo = 0;
  private marking: Promise<void> = Promise.resolve();
  /** `STATUS_TRACE=1`: every message carries its `trace` (`lib/trace.ts`). */
  private readonly trace = statusTraceEnabled();

  constructor(private readonly o: OutboxRelayOptions) {}

  start(): void {
    this.schedule(0);
  }

  /** Something was committed to the outbox (in this process, or NOTIFY from another). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Called as the process begins to stop, before in-flight work drains: the relay keeps publishing,
   * but its connection ending from now on is part of the stop, not a failure to warn about.
   */
  stopping(): void {
    this.closing = true;
  }

  async stop(): Promise<void> {
    this.closing = true;
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    await this.running;
    await this.marking;
    await this.lagging;
    await this.dropConnection();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    if (ms === 0) this.immediate = setImmediate(() => this.run());
    else this.timer = setTimeout(() => this.run(), ms);
  }

  private run(): void {
    if (this.running || this.stopped) return;
    this.running = this.tick()
      .then(() => {
        this.failures = 0;
      })
      .catch((err: unknown) => {
        this.failures++;
        const level = this.closing ? 'debug' : 'warn';
        this.o.logger[level]({ err: (err as Error).message, failures: this.failures }, 'outbox relay: will retry');
      })
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        const backoff = this.failures > 0 ? Math.min(100 * 2 ** Math.min(this.failures, 6), 5000) : undefined;
        if (this.again && backoff === undefined) {
          this.again = false;
          this.schedule(0);
        } else {
          this.again = false;
          this.schedule(backoff ?? this.o.pollMs ?? 1000);
        }
      });
  }

  private async tick(): Promise<void> {
    if (!(await this.ensureLeader())) return;
    const batch = this.o.batch ?? 500;
    for (;;) {
      const published = await this.publishBatch(batch);
      if (published < batch) break;
    }
    // Once a second, in the background: a batch committed meanwhile does not wait for the metric's query.
    if (Date.now() - this.lagMeasuredAt >= 1000) {
      this.lagMeasuredAt = Date.now();
      this.lagging = this.measureLag().catch((err: unknown) =>
        this.o.logger.debug({ err: (err as Error).message }, 'outbox relay: lag not measured'),
      );
    }
  }

  /**
   * The leader holds the advisory lock on its own connection. A standby keeps its connection
   * and asks for the lock again on it (on each poll and wake-up) rather than reconnecting every
   * time: a new session per poll is what Postgres refuses first when its connections run out.
   */
  private async ensureLeader(): Promise<boolean> {
    if (this.leader && this.client) return true;
    if (!this.client) {
      const client = new pg.Client({
        connectionString: this.o.databaseUrl,
        connectionTimeoutMillis: this.o.connectTimeoutMs,
        application_name: 'deposit-gateway:outbox-relay',
      });
      client.on('error', (err) => {
        if (this.closing) this.o.logger.debug({ err: err.message }, 'outbox relay connection closed while stopping');
        else this.o.logger.warn({ err: err.message }, 'outbox relay connection lost');
        this.leader = false;
        this.client = undefined;
      });
      client.on('notification', () => this.wake());
      try {
        await client.connect();
        await listenForChanges(client);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
    }
    try {
      const r = await this.client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [RELAY_LOCK_KEY]);
      this.leader = r.rows[0].ok;
    } catch (err) {
      await this.dropConnection();
      throw err;
    }
    if (this.leader) this.o.logger.info('outbox relay: leading');
    return this.leader;
  }

  private async dropConnection(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.leader = false;
    if (c) await c.end().catch(() => undefined);
  }

  /**
   * Sequences the next `batch` changes and reads them (`sequenceNext`), then one pipeline to
   * Redis; the update that marks them published runs in the background, so the next batch
   * does not wait for it (rows up to `publishedUpTo` are not read again meanwhile). Only the
   * leader runs it.
   */
  private async publishBatch(batch: number): Promise<number> {
    const queried = this.trace ? traceNow() : 0;
    const messages = await sequenceNext(this.o.pool, batch, this.publishedUpTo);
    if (messages.length === 0) return 0;
    this.o.onSequenced?.();
    if (this.trace) {
      const relayed = traceNow();
      for (const m of messages)
        m.trace = { ...sidecarStamps.take(m.depositId, m.status), relayQuery: queried, relayed };
    }
    const payloads = messages.flatMap((m) => {
      if (m.trace) m.trace.published = traceNow();
      const message = JSON.stringify(m);
      return [
        { channel: depositChannel(this.o.prefix, m.depositId), message },
        { channel: tenantChannel(this.o.prefix, m.tenantId), message },
      ];
    });
    // Marked published only once Redis took the whole batch; a failure republishes it (same seqs, dropped as seen).
    await this.o.bus.publishAll(payloads);
    this.markPublished(Number(messages[messages.length - 1].seq));
    return messages.length;
  }

  /** In order, in the background; if marking fails, what it left unmarked is published again (seen seqs are dropped). */
  private markPublished(upTo: number): void {
    this.publishedUpTo = Math.max(this.publishedUpTo, upTo);
    this.marking = this.marking
      .then(() => markPublished(this.o.pool, upTo))
      .then(
        () => undefined,
        (err: unknown) => {
          this.publishedUpTo = 0;
          const level = this.closing ? 'debug' : 'warn';
          this.o.logger[level](
            { err: (err as Error).message },
            'outbox relay: marking published failed; will republish',
          );
        },
      );
  }

  /** Age of the oldest change not yet published (never a scan). */
  private async measureLag(): Promise<void> {
    if (!this.o.metrics) return;
    this.o.metrics.outboxLagSeconds.set(await unpublishedAgeSeconds(this.o.pool));
  }
}

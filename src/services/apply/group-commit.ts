/**
 * The group-commit queue: concurrent callers share a transaction. While `maxInFlight`
 * transactions are running, newcomers queue, and the next transaction takes up to `maxBatch`
 * of them, in arrival order. At low load every call has a transaction of its own at once;
 * under load a commit serves many. What a batch does is the runner's business.
 */

/** One queued call: its input, and how to answer it. */
export interface Pending<T, R> {
  item: T;
  /** `process.hrtime.bigint()` at arrival. */
  started: bigint;
  /** Epoch ms after which the caller has given up already (answered 503): not worth running any more. */
  deadline?: number;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export interface GroupCommitLimits {
  /** Calls per transaction at most (1: a transaction each, as the benchmark's baseline). */
  maxBatch?: number;
  /** Transactions running at once; keep it under the pool size. */
  maxInFlight?: number;
}

export class GroupCommit<T, R> {
  private readonly queue: Pending<T, R>[] = [];
  private inFlight = 0;

  /** @param run runs one batch and answers every call in it (it must not reject). */
  constructor(
    private readonly run: (batch: Pending<T, R>[]) => Promise<void>,
    private readonly limits: GroupCommitLimits = {},
  ) {}

  submit(item: T, opts: { deadline?: number } = {}): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, started: process.hrtime.bigint(), deadline: opts.deadline, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    const maxInFlight = this.limits.maxInFlight ?? 4;
    const maxBatch = this.limits.maxBatch ?? 32;
    while (this.inFlight < maxInFlight && this.queue.length > 0) {
      // Under overload, calls whose caller already gave up are not run late: the provider
      // retries them, and the work goes to requests that can still be answered.
      const now = Date.now();
      for (let i = this.queue.length - 1; i >= 0; i--) {
        const p = this.queue[i];
        if (p.deadline !== undefined && p.deadline <= now) {
          this.queue.splice(i, 1);
          p.reject(new Error('timeout: the request gave up before its event was stored'));
        }
      }
      const batch = this.queue.splice(0, maxBatch);
      if (batch.length === 0) break;
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }
}

/**
 * Bounds the requests in flight: at most `maxInFlight` overall and
 * `maxPerKey` for one key (a webhook endpoint), so one slow merchant holds at
 * most `maxPerKey` slots and the others keep theirs.
 *
 * Written here rather than taken from p-limit or p-queue: those bound one
 * pool, and a per-key bound on top of them would need a queue per key that
 * still blocks on the shared pool. This one hands a freed slot to the oldest
 * waiter whose key has room, and `tryAcquire` never waits, so a dispatcher
 * can skip a saturated endpoint and move on.
 *
 * The bounds are per process: N dispatching processes allow up to N times
 * `maxPerKey` requests to one endpoint.
 */

/** Gives a slot back. Calling it again does nothing. */
export type Release = () => void;

export interface ConcurrencyLimiterOptions {
  /** Requests in flight overall, across every key. */
  maxInFlight: number;
  /** Requests in flight for one key. */
  maxPerKey: number;
}

interface Waiter {
  key: string;
  grant: (release: Release) => void;
}

export class ConcurrencyLimiter {
  readonly maxInFlight: number;
  readonly maxPerKey: number;
  #inFlight = 0;
  readonly #perKey = new Map<string, number>();
  readonly #waiters: Waiter[] = [];
  #idle: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor({ maxInFlight, maxPerKey }: ConcurrencyLimiterOptions) {
    for (const [name, value] of [
      ['maxInFlight', maxInFlight],
      ['maxPerKey', maxPerKey],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a whole number of 1 or more, got ${value}`);
      }
    }
    this.maxInFlight = maxInFlight;
    this.maxPerKey = maxPerKey;
  }

  /** Slots held overall. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Callers waiting in `acquire` or `run`. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Slots held for `key`. */
  inFlightFor(key: string): number {
    return this.#perKey.get(key) ?? 0;
  }

  /** Whether `tryAcquire(key)` would succeed now. */
  canAcquire(key: string): boolean {
    return this.#inFlight < this.maxInFlight && this.inFlightFor(key) < this.maxPerKey;
  }

  /** How many more slots `key` could take now (0 when it or the whole limiter is full). */
  available(key: string): number {
    return Math.max(0, Math.min(this.maxInFlight - this.#inFlight, this.maxPerKey - this.inFlightFor(key)));
  }

  /** A slot for `key` now, or null when `key` or the whole limiter is at its bound. Never waits. */
  tryAcquire(key: string): Release | null {
    return this.canAcquire(key) ? this.#take(key) : null;
  }

  /**
   * A slot for `key`, waiting for one if need be. Waiters are served oldest
   * first among those whose key has room: a waiter for a saturated key does
   * not hold up one for another key.
   * @param signal stops waiting (the promise rejects with its reason).
   */
  acquire(key: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const release = this.tryAcquire(key);
    if (release) return Promise.resolve(release);
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        key,
        grant: (granted) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(granted);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` in a slot for `key` now, or returns null without calling it when there is none. */
  tryRun<T>(key: string, fn: () => Promise<T>): Promise<T> | null {
    const release = this.tryAcquire(key);
    return release ? this.#runHolding(release, fn) : null;
  }

  /** Runs `fn` in a slot for `key`, waiting for one if need be. */
  async run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#runHolding(await this.acquire(key, signal), fn);
  }

  /** Resolves when no slot is held and nobody waits (for a graceful shutdown: stop claiming, then await this). */
  onIdle(): Promise<void> {
    if (this.#inFlight === 0 && this.#waiters.length === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  async #runHolding<T>(release: Release, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #take(key: string): Release {
    this.#inFlight += 1;
    this.#perKey.set(key, this.inFlightFor(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#give(key);
    };
  }

  #give(key: string): void {
    this.#inFlight -= 1;
    const left = this.inFlightFor(key) - 1;
    if (left === 0) this.#perKey.delete(key);
    else this.#perKey.set(key, left);

    // Hand freed capacity to the oldest waiters that can use it, before anyone else can take it.
    for (let i = 0; i < this.#waiters.length && this.#inFlight < this.maxInFlight;) {
      const waiter = this.#waiters[i];
      if (this.inFlightFor(waiter.key) < this.maxPerKey) {
        this.#waiters.splice(i, 1);
        waiter.grant(this.#take(waiter.key));
      } else {
        i += 1;
      }
    }

    if (this.#inFlight === 0 && this.#waiters.length === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = null;
    }
  }
}

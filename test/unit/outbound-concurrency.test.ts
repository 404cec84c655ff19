import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/lib/outbound/concurrency.js';

/** A task that runs until it is told to finish. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('ConcurrencyLimiter', () => {
  it('refuses bounds that are not whole numbers of 1 or more', () => {
    expect(() => new ConcurrencyLimiter({ maxInFlight: 0, maxPerKey: 1 })).toThrow('maxInFlight must be');
    expect(() => new ConcurrencyLimiter({ maxInFlight: 4, maxPerKey: 1.5 })).toThrow('maxPerKey must be');
  });

  it('gives a key at most maxPerKey slots, and other keys theirs', () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 10, maxPerKey: 2 });
    const a1 = limiter.tryAcquire('a');
    const a2 = limiter.tryAcquire('a');
    expect(a1 && a2).toBeTruthy();
    expect(limiter.tryAcquire('a')).toBeNull();
    expect(limiter.canAcquire('a')).toBe(false);
    expect(limiter.available('a')).toBe(0);
    expect(limiter.tryAcquire('b')).not.toBeNull();
    expect(limiter.inFlight).toBe(3);
    expect(limiter.inFlightFor('a')).toBe(2);

    a1!();
    expect(limiter.inFlightFor('a')).toBe(1);
    expect(limiter.tryAcquire('a')).not.toBeNull();
  });

  it('gives at most maxInFlight slots overall', () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 3, maxPerKey: 2 });
    expect(['a', 'a', 'b'].map((key) => limiter.tryAcquire(key) !== null)).toEqual([true, true, true]);
    expect(limiter.tryAcquire('c')).toBeNull();
    expect(limiter.available('c')).toBe(0);
  });

  it('ignores a second release of the same slot', () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 2, maxPerKey: 2 });
    const release = limiter.tryAcquire('a')!;
    limiter.tryAcquire('a');
    release();
    release();
    expect(limiter.inFlight).toBe(1);
    expect(limiter.inFlightFor('a')).toBe(1);
  });

  it('lets a dispatcher skip a saturated endpoint and serve the others at once', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 8, maxPerKey: 2 });
    const slow = gate();
    const started: string[] = [];
    const due = ['slow', 'slow', 'slow', 'slow', 'fast', 'fast', 'other'];
    const running: Promise<void>[] = [];
    const skipped: string[] = [];
    for (const endpoint of due) {
      const run = limiter.tryRun(endpoint, async () => {
        started.push(endpoint);
        if (endpoint === 'slow') await slow.opened;
      });
      if (run) running.push(run);
      else skipped.push(endpoint);
    }
    expect(skipped).toEqual(['slow', 'slow']);
    expect(started).toEqual(['slow', 'slow', 'fast', 'fast', 'other']);
    slow.open();
    await Promise.all(running);
    expect(limiter.inFlight).toBe(0);
  });

  it('releases the slot when the task fails', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxPerKey: 1 });
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.tryRun('a', async () => 'again')).resolves.toBe('again');
  });

  it('makes run wait for a slot, serving the oldest waiter whose key has room first', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 2, maxPerKey: 1 });
    const releaseA = limiter.tryAcquire('a')!;
    const releaseB = limiter.tryAcquire('b')!;
    const order: string[] = [];
    const waitA = limiter.run('a', async () => void order.push('a'));
    const waitC = limiter.run('c', async () => void order.push('c'));
    expect(limiter.waiting).toBe(2);

    // A slot freed by b: the waiter for a is older but a is still at its bound, so c goes.
    releaseB();
    await waitC;
    expect(order).toEqual(['c']);
    expect(limiter.waiting).toBe(1);

    releaseA();
    await waitA;
    expect(order).toEqual(['c', 'a']);
    await limiter.onIdle();
  });

  it('hands a freed slot to a waiter before tryAcquire can take it', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxPerKey: 1 });
    const release = limiter.tryAcquire('a')!;
    const waiting = limiter.acquire('b');
    release();
    expect(limiter.tryAcquire('c')).toBeNull();
    (await waiting)();
    expect(limiter.inFlight).toBe(0);
  });

  it('stops waiting when its signal aborts', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxPerKey: 1 });
    const release = limiter.tryAcquire('a')!;
    const controller = new AbortController();
    const waiting = limiter.acquire('b', controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    expect(limiter.waiting).toBe(0);
    release();
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.acquire('b', controller.signal)).rejects.toThrow('shutting down');
  });

  it('resolves onIdle once every slot is back', async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 4, maxPerKey: 4 });
    await limiter.onIdle();
    let done = 0;
    const tasks = [10, 30, 20].map((ms) =>
      limiter.run('a', async () => {
        await sleep(ms);
        done += 1;
      }),
    );
    await limiter.onIdle();
    expect(done).toBe(3);
    await Promise.all(tasks);
  });

  it('never exceeds either bound, and runs every task, under random load', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), ms: fc.integer({ min: 0, max: 3 }) }), {
          maxLength: 40,
        }),
        async (maxInFlight, maxPerKey, tasks) => {
          const limiter = new ConcurrencyLimiter({ maxInFlight, maxPerKey });
          const perKey = new Map<string, number>();
          let overall = 0;
          let peak = 0;
          let ran = 0;
          await Promise.all(
            tasks.map(({ key, ms }) =>
              limiter.run(key, async () => {
                overall += 1;
                perKey.set(key, (perKey.get(key) ?? 0) + 1);
                peak = Math.max(peak, overall);
                expect(overall).toBeLessThanOrEqual(maxInFlight);
                expect(perKey.get(key)).toBeLessThanOrEqual(maxPerKey);
                await sleep(ms);
                overall -= 1;
                perKey.set(key, perKey.get(key)! - 1);
                ran += 1;
              }),
            ),
          );
          expect(ran).toBe(tasks.length);
          expect(limiter.inFlight).toBe(0);
          expect(limiter.waiting).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

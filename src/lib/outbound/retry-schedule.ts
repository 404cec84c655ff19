/**
 * When a failed merchant webhook is tried again (the contract's "Merchant
 * notifications"): after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then
 * the delivery is FAILED. Eight attempts over about 27.6 hours.
 */

/** Delays in seconds: entry i is the wait after the (i + 1)-th failed attempt. */
export type RetrySchedule = readonly number[];

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = Object.freeze([
  5,
  5 * 60,
  30 * 60,
  2 * 60 * 60,
  5 * 60 * 60,
  10 * 60 * 60,
  10 * 60 * 60,
]);

/** An endpoint whose deliveries have all failed for this long is disabled (the contract's 5 days). */
export const AUTO_DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;

/** How many attempts a delivery gets under `schedule`: the first, and one per delay. */
export function maxAttempts(schedule: RetrySchedule): number {
  return schedule.length + 1;
}

const SECONDS = /^\d{1,9}(\.\d{1,3})?$/;

/**
 * Reads `WEBHOOK_RETRY_SCHEDULE`: delays in seconds, comma separated
 * (`5,300,1800`; decimals allowed so tests can go below a second).
 * @throws Error naming the entry that is wrong and what is expected.
 */
export function parseRetrySchedule(text: string): RetrySchedule {
  const entries = text.split(',').map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === '') {
    throw new Error('WEBHOOK_RETRY_SCHEDULE is empty: give the delays in seconds, comma separated, e.g. "5,300,1800"');
  }
  return Object.freeze(
    entries.map((entry, index) => {
      if (!SECONDS.test(entry)) {
        throw new Error(
          `WEBHOOK_RETRY_SCHEDULE entry ${index + 1} is ${JSON.stringify(entry.slice(0, 40))}: ` +
            'each delay is a number of seconds (0 or more, at most 3 decimals), comma separated, e.g. "5,300,1800"',
        );
      }
      return Number(entry);
    }),
  );
}

/**
 * How long to wait before the next attempt, in milliseconds, or null when the
 * delivery has had all its attempts and is FAILED.
 * @param attemptsMade attempts made so far, the failed one included (0: none yet, due now).
 */
export function nextAttemptDelay(
  attemptsMade: number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): number | null {
  if (!Number.isSafeInteger(attemptsMade) || attemptsMade < 0) {
    throw new RangeError(`attemptsMade must be a whole number of 0 or more, got ${attemptsMade}`);
  }
  if (attemptsMade === 0) return 0;
  const delay = schedule[attemptsMade - 1];
  return delay === undefined ? null : Math.round(delay * 1000);
}

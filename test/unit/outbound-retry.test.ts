import { describe, expect, it } from 'vitest';
import {
  AUTO_DISABLE_AFTER_MS,
  DEFAULT_RETRY_SCHEDULE,
  maxAttempts,
  nextAttemptDelay,
  parseRetrySchedule,
} from '../../src/lib/outbound/retry-schedule.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe('the default retry schedule', () => {
  it("is the contract's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then FAILED", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempts) => nextAttemptDelay(attempts));
    expect(delays).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR, null]);
    expect(maxAttempts(DEFAULT_RETRY_SCHEDULE)).toBe(8);
  });

  it('gives up for good once every attempt is made', () => {
    for (const attempts of [8, 9, 100]) expect(nextAttemptDelay(attempts, DEFAULT_RETRY_SCHEDULE)).toBeNull();
  });

  it('spans about 27.6 hours, well inside the 5 days after which an endpoint is disabled', () => {
    const total = DEFAULT_RETRY_SCHEDULE.reduce((sum, seconds) => sum + seconds * SECOND, 0);
    expect(total).toBe(99_305 * SECOND);
    expect(total).toBeLessThan(AUTO_DISABLE_AFTER_MS);
    expect(AUTO_DISABLE_AFTER_MS).toBe(5 * 24 * HOUR);
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(DEFAULT_RETRY_SCHEDULE)).toBe(true);
  });
});

describe('nextAttemptDelay', () => {
  it('makes the first attempt at once', () => {
    expect(nextAttemptDelay(0)).toBe(0);
  });

  it('follows a given schedule and stops after it', () => {
    const schedule = parseRetrySchedule('1,2');
    expect([1, 2, 3].map((attempts) => nextAttemptDelay(attempts, schedule))).toEqual([1000, 2000, null]);
  });

  it('with an empty schedule, fails after the first attempt', () => {
    expect(nextAttemptDelay(1, [])).toBeNull();
  });

  it.each([-1, 1.5, Number.NaN, Infinity])('refuses %s attempts', (attempts) => {
    expect(() => nextAttemptDelay(attempts)).toThrow(RangeError);
  });
});

describe('parseRetrySchedule (WEBHOOK_RETRY_SCHEDULE)', () => {
  it('reads seconds, comma separated, spaces allowed', () => {
    expect(parseRetrySchedule('5,300,1800')).toEqual([5, 300, 1800]);
    expect(parseRetrySchedule(' 5 , 300 ,1800 ')).toEqual([5, 300, 1800]);
    expect(parseRetrySchedule('7')).toEqual([7]);
  });

  it('accepts zero and fractions of a second, for tests', () => {
    const schedule = parseRetrySchedule('0,0.25,1.5');
    expect(schedule).toEqual([0, 0.25, 1.5]);
    expect([1, 2, 3].map((attempts) => nextAttemptDelay(attempts, schedule))).toEqual([0, 250, 1500]);
  });

  it('writes the default schedule as the contract does', () => {
    expect(parseRetrySchedule('5,300,1800,7200,18000,36000,36000')).toEqual(DEFAULT_RETRY_SCHEDULE);
  });

  it('says so when it is empty', () => {
    expect(() => parseRetrySchedule('')).toThrow('WEBHOOK_RETRY_SCHEDULE is empty');
    expect(() => parseRetrySchedule('  ')).toThrow('WEBHOOK_RETRY_SCHEDULE is empty');
  });

  it.each([
    ['5,,300', 2, ''],
    ['5,300,', 3, ''],
    ['5,-1', 2, '-1'],
    ['5m,300', 1, '5m'],
    ['1e3', 1, '1e3'],
    ['5;300', 1, '5;300'],
    ['0x10', 1, '0x10'],
    ['Infinity', 1, 'Infinity'],
    ['1.2345', 1, '1.2345'],
    ['9999999999', 1, '9999999999'],
  ])('refuses %j, naming entry %i', (text, index, entry) => {
    expect(() => parseRetrySchedule(text)).toThrow(
      `WEBHOOK_RETRY_SCHEDULE entry ${index} is ${JSON.stringify(entry)}: each delay is a number of seconds`,
    );
  });
});

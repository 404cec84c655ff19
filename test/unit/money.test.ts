import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  canonical,
  compare,
  Dec,
  decimalProblem,
  isPositive,
  MAX_INTEGER_DIGITS,
  MAX_SCALE,
} from '../../src/domain/money.js';

/**
 * The one decimal parser every amount goes through (provider payloads, GraphQL inputs, the
 * sandbox): a JSON number's text in any of its forms, exponent included, read exactly.
 */

describe('decimalProblem and canonical', () => {
  it.each([
    ['25', '25'],
    ['25.00', '25'],
    ['007.50', '7.5'],
    ['-0', '0'],
    ['0.0', '0'],
    ['1e-7', '0.0000001'],
    ['1.0E-4', '0.0001'],
    ['1E+2', '100'],
    ['1E+02', '100'],
    ['1e2', '100'],
    ['-0.5e3', '-500'],
    ['-1.5E-3', '-0.0015'],
    ['12.5e-1', '1.25'],
    ['1e0', '1'],
    ['1e-0', '1'],
    ['1e+0', '1'],
    ['0e999999999', '0'],
    ['0.000e-99999999999999999999', '0'],
    ['2.50E+1', '25'],
    ['1.5e-17', '0.000000000000000015'],
    ['1e-18', '0.000000000000000001'],
    ['100e-20', '0.000000000000000001'],
    ['1e17', '100000000000000000'],
    ['9.9999999999999999e17', '999999999999999990'],
    ['9.99999999999999999e17', '999999999999999999'],
    ['999999999999999999', '999999999999999999'],
    ['0.123456789012345678', '0.123456789012345678'],
    ['123456789012345678e-18', '0.123456789012345678'],
    ['0.00000000000000000001e20', '1'],
    ['123456789012345678.123456789012345678', '123456789012345678.123456789012345678'],
    ['1.2345678901234567891234567890e17', '123456789012345678.9123456789'],
    ['25.0000000000000000000', '25'],
  ])('accepts %s as %s', (text, expected) => {
    expect(decimalProblem(text)).toBeUndefined();
    expect(canonical(text)).toBe(expected);
  });

  it.each([
    ['1e-19', 'too many decimals'],
    ['1.5e-18', 'too many decimals'],
    ['0.1234567890123456789', 'too many decimals'],
    ['1.1234567890123456789e0', 'too many decimals'],
    ['1e-999999999', 'too many decimals'],
    ['1e-99999999999999999999', 'too many decimals'],
    ['1e18', 'too large'],
    ['1E+18', 'too large'],
    ['1234567890123456789', 'too large'],
    ['0.1234567890123456789e19', 'too large'],
    ['1e30', 'too large'],
    ['1e999999999', 'too large'],
    ['-1e999999999', 'too large'],
    ['1e99999999999999999999999999', 'too large'],
    ['1e', 'not a decimal string'],
    ['e5', 'not a decimal string'],
    ['1e+', 'not a decimal string'],
    ['1.e5', 'not a decimal string'],
    ['.5e1', 'not a decimal string'],
    ['1e5.5', 'not a decimal string'],
    ['1e--5', 'not a decimal string'],
    ['1ee5', 'not a decimal string'],
    ['+1e5', 'not a decimal string'],
    ['+25', 'not a decimal string'],
    [' 1e5', 'not a decimal string'],
    ['1e 5', 'not a decimal string'],
    ['25.', 'not a decimal string'],
    ['', 'not a decimal string'],
    ['Infinity', 'not a decimal string'],
    ['NaN', 'not a decimal string'],
    ['0x10', 'not a decimal string'],
    ['1_000', 'not a decimal string'],
    ['1,5', 'not a decimal string'],
    ['１２', 'not a decimal string'],
  ])('refuses %s: %s', (text, problem) => {
    expect(decimalProblem(text)).toBe(problem);
  });

  it('judges an absurd exponent without writing the number out', () => {
    // Written out, these are strings longer than V8 allows (a RangeError) or than memory holds.
    const repeat = vi.spyOn(String.prototype, 'repeat');
    const padStart = vi.spyOn(String.prototype, 'padStart');
    const padEnd = vi.spyOn(String.prototype, 'padEnd');
    try {
      expect(decimalProblem('1e999999999')).toBe('too large');
      expect(decimalProblem('9.9E+2147483648')).toBe('too large');
      expect(decimalProblem(`1e${'9'.repeat(400)}`)).toBe('too large');
      expect(decimalProblem('1e-999999999')).toBe('too many decimals');
      expect(decimalProblem(`1e-${'9'.repeat(400)}`)).toBe('too many decimals');
      const counts = [...repeat.mock.calls, ...padStart.mock.calls, ...padEnd.mock.calls].map((c) => Number(c[0]));
      expect(counts.filter((n) => n > 400)).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('refuses to write out a number of a billion digits instead of building it', () => {
    expect(() => canonical('1e999999999')).toThrow(RangeError);
    expect(() => canonical('1e-999999999')).toThrow(RangeError);
  });

  it('reads a long run of zeros before a digit in linear time', () => {
    // Half a million zeros: linear reading takes milliseconds; a quadratic one (a backtracking
    // /0*$/) takes about 10^11 steps, far past the test's timeout, which vitest enforces even on
    // synchronous code. No clock here: the timeout is the deadline.
    const text = `0.${'0'.repeat(500_000)}1e500000`;
    expect(decimalProblem(text)).toBeUndefined();
    expect(canonical(text)).toBe('0.1');
    expect(decimalProblem(`${'0'.repeat(500_000)}1`)).toBeUndefined();
    expect(decimalProblem(`1${'0'.repeat(500_000)}e-499980`)).toBe('too large');
  });

  it('keeps the limits: 18 decimals and 18 integer digits, counted after the exponent is applied', () => {
    expect(MAX_SCALE).toBe(18);
    expect(MAX_INTEGER_DIGITS).toBe(18);
    expect(decimalProblem(`1e${MAX_INTEGER_DIGITS - 1}`)).toBeUndefined();
    expect(decimalProblem(`1e${MAX_INTEGER_DIGITS}`)).toBe('too large');
    expect(decimalProblem(`1e-${MAX_SCALE}`)).toBeUndefined();
    expect(decimalProblem(`1e-${MAX_SCALE + 1}`)).toBe('too many decimals');
  });

  it('reads exponent forms with the other helpers too', () => {
    expect(isPositive('1e-7')).toBe(true);
    expect(isPositive('-0.5e3')).toBe(false);
    expect(isPositive('0e5')).toBe(false);
    expect(compare('1E+2', '100')).toBe(0);
    expect(compare('1.0E-4', '0.0001')).toBe(0);
    expect(compare('1e-7', '0.0000002')).toBe(-1);
  });
});

/** The text of a JSON number: optional sign, digits, optional fraction, optional exponent of either case and sign. */
const jsonNumberText = fc
  .record({
    negative: fc.boolean(),
    int: fc.stringMatching(/^(0|[1-9]\d{0,24})$/),
    frac: fc.option(fc.stringMatching(/^\d{1,24}$/), { nil: undefined }),
    exp: fc.option(
      fc.record({
        e: fc.constantFrom('e', 'E'),
        sign: fc.constantFrom('', '+', '-'),
        value: fc.integer({ min: 0, max: 45 }),
        pad: fc.constantFrom('', '0', '00'),
      }),
      { nil: undefined },
    ),
  })
  .map(
    ({ negative, int, frac, exp }) =>
      `${negative ? '-' : ''}${int}${frac !== undefined ? `.${frac}` : ''}${exp ? `${exp.e}${exp.sign}${exp.pad}${exp.value}` : ''}`,
  );

describe('any JSON number text', () => {
  it('is judged and written exactly as decimal.js reads it', () => {
    fc.assert(
      fc.property(jsonNumberText, (text) => {
        const exact = new Dec(text);
        const fits = exact.decimalPlaces() <= MAX_SCALE && exact.abs().lt(new Dec(10).pow(MAX_INTEGER_DIGITS));
        expect(decimalProblem(text) === undefined).toBe(fits);
        if (fits) expect(canonical(text)).toBe(exact.toFixed());
      }),
      { numRuns: 2000, seed: 8_2026 },
    );
  });

  it('means the same amount whichever exponent it is written with', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[1-9]\d{0,17}$/),
        fc.integer({ min: 0, max: 18 }),
        fc.integer({ min: -20, max: 20 }),
        (digits, scale, shift) => {
          // digits × 10^-scale, and the same value as (digits × 10^-(scale+shift)) × 10^shift.
          const plain = canonical(new Dec(digits).div(new Dec(10).pow(scale)));
          const mantissa = new Dec(digits).div(new Dec(10).pow(scale + shift)).toFixed();
          const shifted = `${mantissa}e${shift}`;
          if (decimalProblem(plain) !== undefined) return;
          expect(decimalProblem(shifted)).toBeUndefined();
          expect(canonical(shifted)).toBe(plain);
        },
      ),
      { numRuns: 1000, seed: 8_2027 },
    );
  });
});

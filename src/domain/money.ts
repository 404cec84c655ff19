import { Decimal as DecimalJs } from 'decimal.js';

/**
 * Exact decimal arithmetic for amounts. Amounts travel as canonical decimal
 * strings (`"0.200234653675781"`), are stored as `numeric(36,18)`, and are
 * compared with a decimal library configured wide enough never to round.
 * No JS number ever holds an amount.
 */
export const Dec = DecimalJs.clone({ precision: 100, rounding: DecimalJs.ROUND_DOWN, toExpNeg: -100, toExpPos: 100 });
export type Dec = InstanceType<typeof Dec>;

/** Digits allowed before the point: `numeric(36,18)` leaves 18. */
export const MAX_INTEGER_DIGITS = 18;
export const MAX_SCALE = 18;

/**
 * A JSON number's text, in every form a provider's serializer prints (`25.00`, `1e-7`,
 * `1.0E-4`, `1E+2`, `-0.5e3`), leading zeros tolerated. Nothing else: no `+25`, `.5`,
 * `25.`, spaces, `Infinity`, hex or digit separators.
 */
const DECIMAL_RE = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * An exponent of more digits than this makes any non-zero value hopeless (too large or
 * too many decimals): it is judged without being read as a number, let alone written out.
 */
const MAX_EXPONENT_DIGITS = 9;

/** A decimal as `digits × 10^exponent`, read from its text without any float. */
interface DecimalParts {
  negative: boolean;
  /** The significant digits, without leading or trailing zeros; `''` for zero. */
  digits: string;
  /** ±Infinity for an exponent too long to read (see `MAX_EXPONENT_DIGITS`). */
  exponent: number;
}

function parts(s: string): DecimalParts | undefined {
  const m = DECIMAL_RE.exec(s);
  if (!m) return undefined;
  const [, sign, int, frac = '', exp = '0'] = m;
  // Loops, not /0*$/: a regex would backtrack quadratically over a long run of zeros.
  const coefficient = int + frac;
  let start = 0;
  while (start < coefficient.length && coefficient.charCodeAt(start) === 48) start++;
  let end = coefficient.length;
  while (end > start && coefficient.charCodeAt(end - 1) === 48) end--;
  if (start === end) return { negative: false, digits: '', exponent: 0 };

  const expNegative = exp.startsWith('-');
  let expStart = exp.startsWith('-') || exp.startsWith('+') ? 1 : 0;
  while (expStart < exp.length - 1 && exp.charCodeAt(expStart) === 48) expStart++;
  const expDigits = exp.slice(expStart);
  // An exponent is a count of places, not an amount: a JS number holds it exactly at this size.
  const written = expDigits.length > MAX_EXPONENT_DIGITS ? Number.POSITIVE_INFINITY : Number.parseInt(expDigits, 10);
  return {
    negative: sign === '-',
    digits: coefficient.slice(start, end),
    exponent: (expNegative ? -written : written) - frac.length + (coefficient.length - end),
  };
}

/** Places after the point and digits before it, once the exponent is applied and zeros are dropped. */
function size(p: DecimalParts): { scale: number; integerDigits: number } {
  return { scale: Math.max(0, -p.exponent), integerDigits: Math.max(0, p.digits.length + p.exponent) };
}

export type DecimalProblem = 'not a decimal string' | 'too many decimals' | 'too large';

/**
 * Why `s` is not an amount we can store exactly, or `undefined` if it is fine (sign not
 * checked). Any JSON number form is read, exponent included; the limits (18 decimals, 18
 * integer digits) apply to the value, so `1e-7` is fine, `1e18` is too large, and
 * `25.0000000000000000000` is 25.
 */
export function decimalProblem(s: string): DecimalProblem | undefined {
  const p = parts(s);
  if (!p) return 'not a decimal string';
  if (p.digits === '') return undefined;
  const { scale, integerDigits } = size(p);
  if (scale > MAX_SCALE) return 'too many decimals';
  if (integerDigits > MAX_INTEGER_DIGITS) return 'too large';
  return undefined;
}

/**
 * Canonical form: no exponent, no trailing zeros after the point, no leading zeros
 * (`1.0E-4` is `0.0001`). Throws `RangeError` rather than write out a number that only an
 * exponent made huge (`1e999999999`): check `decimalProblem` first.
 */
export function canonical(s: string | Dec): string {
  if (typeof s !== 'string') return s.toFixed();
  const p = parts(s);
  // Not a JSON number's text: decimal.js says what it makes of it (and throws on garbage), as before.
  if (!p) return new Dec(s).toFixed();
  if (p.digits === '') return '0';
  const { scale, integerDigits } = size(p);
  if (scale + integerDigits > Math.max(s.length, 1000)) {
    throw new RangeError(`decimal ${s.slice(0, 40)} is too large to write out`);
  }
  const sign = p.negative ? '-' : '';
  if (p.exponent >= 0) return `${sign}${p.digits}${'0'.repeat(p.exponent)}`;
  if (integerDigits > 0) return `${sign}${p.digits.slice(0, integerDigits)}.${p.digits.slice(integerDigits)}`;
  return `${sign}0.${'0'.repeat(scale - p.digits.length)}${p.digits}`;
}

export function isPositive(s: string): boolean {
  return new Dec(s).gt(0);
}

export function compare(a: string, b: string): -1 | 0 | 1 {
  return new Dec(a).comparedTo(new Dec(b)) as -1 | 0 | 1;
}

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

const DECIMAL_RE = /^-?(\d+)(?:\.(\d+))?$/;

export type DecimalProblem = 'not a decimal string' | 'too many decimals' | 'too large';

/** Why `s` is not an amount we can store exactly, or `undefined` if it is fine (sign not checked). */
export function decimalProblem(s: string): DecimalProblem | undefined {
  const m = DECIMAL_RE.exec(s);
  if (!m) return 'not a decimal string';
  if ((m[2]?.length ?? 0) > MAX_SCALE) return 'too many decimals';
  if (m[1].replace(/^0+(?=\d)/, '').length > MAX_INTEGER_DIGITS) return 'too large';
  return undefined;
}

/** Canonical form: no exponent, no trailing zeros after the point, no leading zeros. */
export function canonical(s: string | Dec): string {
  const d = typeof s === 'string' ? new Dec(s) : s;
  return d.toFixed();
}

export function isPositive(s: string): boolean {
  return new Dec(s).gt(0);
}

export function compare(a: string, b: string): -1 | 0 | 1 {
  return new Dec(a).comparedTo(new Dec(b)) as -1 | 0 | 1;
}

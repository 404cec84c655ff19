import { parse, stringify, LosslessNumber } from 'lossless-json';
import { MalformedPayloadError } from './errors.js';

/**
 * Parses JSON without ever turning a number into a JS float: every JSON number
 * becomes its exact decimal text (`0.123456789012345678` stays that string).
 * Adapters then validate those strings with zod like any other field.
 */
export function parseJsonLossless(raw: Buffer | string): unknown {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  try {
    return parse(text, undefined, (value: string) => value);
  } catch (err) {
    throw new MalformedPayloadError(`body is not valid JSON (${(err as Error).message})`);
  }
}

/** Serializes a body in which amounts must be JSON numbers (instap, finrax) without a float in between. */
export function stringifyWithNumbers(value: unknown): string {
  const out = stringify(value);
  if (out === undefined) throw new TypeError('value is not serializable');
  return out;
}

/** A JSON number whose text is exactly `decimal` (e.g. `"10"`, `"0.5"`). */
export function jsonNumeral(decimal: string): LosslessNumber {
  return new LosslessNumber(decimal);
}

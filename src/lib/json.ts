import { parse, stringify, LosslessNumber } from 'lossless-json';
import { MalformedPayloadError } from './errors.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses JSON without ever turning a number into a JS float: every JSON number
 * becomes its exact decimal text (`0.123456789012345678` stays that string).
 * Adapters then validate those strings with zod like any other field.
 * JSON is UTF-8 (RFC 8259): bytes that are not are refused, not replaced by U+FFFD
 * (the stored body would no longer be what was signed).
 */
export function parseJsonLossless(raw: Buffer | string): unknown {
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : UTF8.decode(raw);
  } catch {
    throw new MalformedPayloadError('body is not valid UTF-8');
  }
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

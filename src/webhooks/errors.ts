/**
 * Errors of the webhook path, each mapped to one HTTP answer of the contract
 * ("Webhook sidecar" table) by `webhooks/server.ts`.
 */
export type SignatureErrorCode =
  | 'MISSING_SIGNATURE_HEADERS'
  | 'INVALID_TIMESTAMP'
  | 'TIMESTAMP_OUT_OF_RANGE'
  | 'INVALID_SIGNATURE'
  | 'errorHmacDoesNotMatch';

/** 401: the signature is missing or wrong, or the timestamp is outside the tolerance. */
export class SignatureError extends Error {
  override readonly name = 'SignatureError';
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** 400: not JSON, or not the provider's shape. `field` names the offending path where there is one. */
export class MalformedPayloadError extends Error {
  override readonly name = 'MalformedPayloadError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

/**
 * The typed errors, for every layer. Callers catch meaning (`instanceof`), never message strings.
 *
 * `AppError`s are what a caller of the API did or can act on: each has a literal `code` that
 * GraphQL puts in `extensions.code` (contract: "Error codes"). `SignatureError` and
 * `MalformedPayloadError` are the webhook path's, each mapped to one HTTP answer of the
 * contract ("Webhook sidecar" table) by `webhooks/server.ts`.
 */
export type AppErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNKNOWN_PROVIDER'
  | 'PROVIDER_NOT_CONFIGURED'
  | 'PROVIDER_UNAVAILABLE'
  | 'USER_NOT_VERIFIED'
  | 'INVALID_TRANSITION'
  | 'SYNC_NOT_SUPPORTED';

export abstract class AppError extends Error {
  abstract readonly code: AppErrorCode;
  /** Extra fields for `extensions` (never secrets). */
  readonly details: Record<string, unknown> = {};
}

export class BadUserInputError extends AppError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.details.field = field;
  }
}

export class UnauthenticatedError extends AppError {
  readonly code = 'UNAUTHENTICATED' as const;
  static missingKey() {
    return new UnauthenticatedError('missing x-api-key header');
  }
  static invalidKey() {
    return new UnauthenticatedError('invalid API key');
  }
}

export class ForbiddenError extends AppError {
  readonly code = 'FORBIDDEN' as const;
}

/** The caller named something (a deposit, a tenant, ...) that does not exist, or not for them. */
export class NotFoundError extends AppError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly entity: string,
    id: string,
  ) {
    super(`no ${entity} ${JSON.stringify(id)}`);
    this.details.entity = entity;
  }
}

export class IdempotencyKeyReusedError extends AppError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED' as const;
  constructor() {
    super('this Idempotency-Key was already used with a different input');
  }
}

export class UnknownProviderError extends AppError {
  readonly code = 'UNKNOWN_PROVIDER' as const;
  constructor(provider: string) {
    super(`unknown provider "${provider}"`);
    this.details.provider = provider;
  }
}

export class ProviderNotConfiguredError extends AppError {
  readonly code = 'PROVIDER_NOT_CONFIGURED' as const;
  constructor(provider: string, missing: string) {
    super(`provider "${provider}" is not configured (set ${missing})`);
    this.details.provider = provider;
  }
}

export class ProviderUnavailableError extends AppError {
  readonly code = 'PROVIDER_UNAVAILABLE' as const;
  constructor(provider: string, reason: string) {
    super(`provider "${provider}" is unavailable: ${reason}`);
    this.details.provider = provider;
  }
}

export class UserNotVerifiedError extends AppError {
  readonly code = 'USER_NOT_VERIFIED' as const;
  constructor() {
    super('the user was rejected by identity verification');
  }
}

/** `syncDeposit` for a provider without a status API (layer1, depasify). */
export class SyncNotSupportedError extends AppError {
  readonly code = 'SYNC_NOT_SUPPORTED' as const;
  constructor(provider: string) {
    super(`provider "${provider}" has no status API: its deposits move by its webhooks only`);
    this.details.provider = provider;
  }
}

/** The deposit's state does not allow the action (or it was resolved already): says what it allows. */
export class InvalidTransitionError extends AppError {
  readonly code = 'INVALID_TRANSITION' as const;
  constructor(action: string, status: string, allowed: readonly string[]) {
    super(
      `${action} is not allowed on this ${status} deposit; available actions: ${allowed.length > 0 ? allowed.join(', ') : 'none'}`,
    );
    this.details.availableActions = [...allowed];
  }
}

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

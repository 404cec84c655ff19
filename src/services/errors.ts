/**
 * The typed errors of the service layer. Each has a literal `code` that GraphQL
 * puts in `extensions.code` (contract: "Error codes") and HTTP maps to a status.
 * Callers catch meaning (`instanceof`), never message strings.
 */
export type AppErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'errorHmacDoesNotMatch'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'UNKNOWN_PROVIDER'
  | 'PROVIDER_NOT_CONFIGURED'
  | 'PROVIDER_UNAVAILABLE'
  | 'USER_NOT_VERIFIED'
  | 'QUERY_TOO_COMPLEX'
  | 'NOT_FOUND'
  | 'SERVICE_UNAVAILABLE';

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

export class HmacMismatchError extends AppError {
  readonly code = 'errorHmacDoesNotMatch' as const;
  constructor(message = 'x-payload-hash does not match the request body') {
    super(message);
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

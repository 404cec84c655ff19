import { DriverException } from '@mikro-orm/core';
import { GraphQLError } from 'graphql';
import { isStorageUnavailable } from '../db/errors.js';
import { AppError } from '../lib/errors.js';

/**
 * Service errors carry a literal `code`; GraphQL puts it in `extensions.code`
 * (with `field` for BAD_USER_INPUT). A database that is away is SERVICE_UNAVAILABLE,
 * not an internal error. Applied to every resolver of the schema (`gateway/schema.ts`),
 * so on HTTP and on graphql-ws alike; other errors are returned as they are.
 */
export function toGraphQLError(err: unknown): unknown {
  if (err instanceof AppError) {
    return new GraphQLError(err.message, { originalError: err, extensions: { code: err.code, ...err.details } });
  }
  // From MikroORM (DriverException) or from the pool directly (the hot paths' SQL).
  if ((err instanceof DriverException && err.name === 'ConnectionException') || isStorageUnavailable(err)) {
    return new GraphQLError('storage is temporarily unavailable, retry later', {
      originalError: err as Error,
      extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
    });
  }
  return err;
}

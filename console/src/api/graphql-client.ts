import type { TypedDocumentString } from '../generated/graphql.js';

/**
 * GraphQL over HTTP to this page's own origin. The path is fixed: the API key is never sent
 * anywhere but the gateway that served the page.
 */
export const GRAPHQL_PATH = '/graphql';

/** A request that failed: a GraphQL error (its `extensions.code`), an HTTP failure or no network. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    /** `extensions.code` of the first error, or NETWORK_ERROR / HTTP_ERROR. */
    readonly code: string | undefined,
    readonly httpStatus: number | undefined,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

interface GraphQLResponseBody<T> {
  data?: T | null;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

export async function request<TResult, TVariables>(
  apiKey: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables?: TVariables,
  signal?: AbortSignal,
): Promise<TResult> {
  let res: Response;
  try {
    res = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json;q=0.9',
        'x-api-key': apiKey,
      },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new GraphQLRequestError(
      'The gateway cannot be reached. Check the connection and try again.',
      'NETWORK_ERROR',
      undefined,
    );
  }
  let body: GraphQLResponseBody<TResult> | undefined;
  try {
    body = (await res.json()) as GraphQLResponseBody<TResult>;
  } catch {
    body = undefined;
  }
  const first = body?.errors?.[0];
  if (first) {
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
    const message = typeof first.message === 'string' ? first.message : 'The request failed.';
    throw new GraphQLRequestError(message, code, res.status);
  }
  if (!res.ok || body?.data == null) {
    throw new GraphQLRequestError(`The gateway answered HTTP ${res.status}.`, 'HTTP_ERROR', res.status);
  }
  return body.data;
}

/** True when the gateway no longer accepts the key (revoked, or never valid). */
export function isUnauthenticated(err: unknown): boolean {
  return err instanceof GraphQLRequestError && err.code === 'UNAUTHENTICATED';
}

/** What to tell a person about a failure: plain text, never markup. */
export function describeError(err: unknown): string {
  if (err instanceof GraphQLRequestError) {
    switch (err.code) {
      case 'UNAUTHENTICATED':
        return 'The gateway does not accept this API key.';
      case 'FORBIDDEN':
        return 'This key may not use the operator console: sign in with an operator key.';
      case 'errorHmacDoesNotMatch':
        return "This key's tenant signs every request (HMAC), which the console cannot do: use an operator key of a tenant without HMAC.";
      default:
        return err.message;
    }
  }
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

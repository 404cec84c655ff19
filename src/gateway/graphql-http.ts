import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { header } from './auth.js';
import { checkLimits, parseQuery } from './limits.js';

/**
 * GraphQL over HTTP around Apollo: the query limits checked before Apollo parses and validates,
 * errors the gateway answers itself, and the status code rules of the GraphQL-over-HTTP spec.
 */

/** Codes of errors raised before execution: under `application/json` they still answer 200 (GraphQL over HTTP). */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
]);

/**
 * The limits, before Apollo validates the document: graphql's validation costs up to the
 * square of a document's size, the limits only its size. A request whose query cannot be
 * found as Apollo would find it is left to Apollo, which refuses it; a syntax error too.
 */
export function graphQLLimits(
  schema: GraphQLSchema,
  documents: DocumentCache,
  request: FastifyRequest,
): GraphQLError | undefined {
  const sent = graphQLParams(request);
  if (!sent) return undefined;
  const parsed = documents.get(sent.query);
  if ('error' in parsed) return parsed.error.extensions.code === 'QUERY_TOO_COMPLEX' ? parsed.error : undefined;
  return checkLimits(schema, parsed.document, sent.variables)[0];
}

/** `query` and `variables` where Apollo reads them: the JSON body of a POST, the URL of a GET. */
function graphQLParams(request: FastifyRequest): { query: string; variables?: Record<string, unknown> } | undefined {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (request.method === 'POST') {
    const body = request.body;
    if (!isObject(body) || typeof body.query !== 'string') return undefined;
    return { query: body.query, variables: isObject(body.variables) ? body.variables : undefined };
  }
  const mark = request.url.indexOf('?');
  const search = new URLSearchParams(mark < 0 ? '' : request.url.slice(mark + 1));
  const queries = search.getAll('query');
  if (queries.length !== 1) return undefined;
  let variables: unknown;
  try {
    variables = JSON.parse(search.get('variables') ?? 'null');
  } catch {
    return undefined; // Apollo refuses it with 400
  }
  return { query: queries[0], variables: isObject(variables) ? variables : undefined };
}

/**
 * A GraphQL error answered by the gateway itself (before Apollo): the media type the client
 * asked for, the status the error carries. `legacyJsonStatus` then applies as for Apollo's answers.
 */
export function sendErrors(request: FastifyRequest, reply: FastifyReply, error: GraphQLError): FastifyReply {
  const { http, ...extensions } = error.extensions as { http?: { status?: number } } & Record<string, unknown>;
  const accept = header(request, 'accept') ?? '';
  const modern = accept.indexOf('application/graphql-response+json');
  const legacy = accept.indexOf('application/json');
  const type =
    modern >= 0 && (legacy < 0 || modern < legacy)
      ? 'application/graphql-response+json; charset=utf-8'
      : 'application/json; charset=utf-8';
  return reply
    .code(http?.status ?? 400)
    .type(type)
    .send(JSON.stringify({ errors: [{ message: error.message, extensions }] }));
}

/** An error message without graphql's "Did you mean ...?" (names the caller did not write). */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/**
 * GraphQL over HTTP: with `application/json`, a well-formed GraphQL response answers 200 even
 * when the request failed validation; 4xx belongs to `application/graphql-response+json`.
 * Decided on the way out: Apollo picks the content type from `Accept` only after every plugin
 * hook has run, so a plugin cannot see it.
 */
export async function legacyJsonStatus(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  if (reply.statusCode !== 400 || typeof payload !== 'string') return payload;
  if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
  let body: { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
  try {
    body = JSON.parse(payload) as typeof body;
  } catch {
    return payload;
  }
  const errors = body.errors ?? [];
  if (
    body.data === undefined &&
    errors.length > 0 &&
    errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))
  ) {
    reply.code(200);
  }
  return payload;
}

/**
 * Parsed documents by query text, for the limits (both transports) and the socket's validation.
 * Thousands of UIs send the same few queries: one shared document each instead of one per
 * subscription (memory), and no re-parsing. Bounded: when full it starts over.
 */
export class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode } | { error: GraphQLError }>();

  constructor(private readonly max = 500) {}

  get(query: string): { document: DocumentNode } | { error: GraphQLError } {
    let entry = this.entries.get(query);
    if (!entry) {
      try {
        entry = { document: parseQuery(query) };
      } catch (err) {
        if (!(err instanceof GraphQLError)) throw err;
        entry = { error: err };
      }
      if (this.entries.size >= this.max) this.entries.clear();
      this.entries.set(query, entry);
    }
    return entry;
  }
}

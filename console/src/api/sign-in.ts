import { OperatorProbeDocument } from '../generated/graphql.js';
import { request } from './graphql-client.js';

/**
 * Signing in is running the operator probe (`OperatorProbe` in console.graphql) with the key:
 * it resolves when the gateway lets this key operate, and otherwise throws the gateway's refusal
 * (a GraphQLRequestError: UNAUTHENTICATED for an unknown or revoked key, FORBIDDEN for an app key
 * once the probe asks for an operator-only field), which the sign-in form shows as it is.
 */
export async function verifyOperatorKey(apiKey: string): Promise<void> {
  await request(apiKey, OperatorProbeDocument);
}

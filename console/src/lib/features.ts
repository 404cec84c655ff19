import type { DepositListQueryVariables } from '../generated/graphql.js';

/**
 * Operator features the schema does not have yet. Each switch is tied to the generated types so
 * that adding the field to console.graphql (and running `npm run codegen`) fails to compile until
 * the switch is flipped: the console never sends a variable the gateway does not declare.
 */

/** The list's "Needs attention" filter: on once DepositList declares `$needsAttention: Boolean`. */
type HasNeedsAttentionFilter = 'needsAttention' extends keyof DepositListQueryVariables ? true : false;
export const NEEDS_ATTENTION_FILTER: HasNeedsAttentionFilter = false;

/**
 * Fields that arrive with the operator features, optional until the fragments select them. Code
 * reads them through these types, so a fragment that gains the field lights the feature up.
 */
export interface AttentionFields {
  /** Money received and neither credited nor resolved (DepositRow). */
  needsAttention?: boolean | null;
}

export interface AuditFields {
  /** WEBHOOK, SYNC, OPERATOR or SYSTEM (TimelineEvent). */
  source?: string | null;
  /** The label of the operator key that acted. */
  actor?: string | null;
  reason?: string | null;
  reference?: string | null;
}

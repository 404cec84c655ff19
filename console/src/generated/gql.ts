/* eslint-disable */
import * as types from './graphql.js';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
  'fragment DepositRow on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  createdAt\n  updatedAt\n}\n\nfragment TimelineEvent on DepositEvent {\n  id\n  status\n  providerStatus\n  amount\n  currency\n  txHash\n  network\n  fee\n  occurredAt\n  receivedAt\n}\n\nfragment DepositDetail on Deposit {\n  ...DepositRow\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  events {\n    ...TimelineEvent\n  }\n}\n\nquery OperatorProbe {\n  deposits(first: 1) {\n    pageInfo {\n      hasNextPage\n    }\n  }\n}\n\nquery DepositList($status: DepositStatus, $userId: String, $first: Int, $after: String) {\n  deposits(status: $status, userId: $userId, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositRow\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery DepositRowById($id: ID!) {\n  deposit(id: $id) {\n    ...DepositRow\n  }\n}\n\nquery DepositPage($id: ID!) {\n  deposit(id: $id) {\n    ...DepositDetail\n  }\n}\n\nsubscription LiveDepositChanges($after: String) {\n  depositStatusChanged(after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      ...DepositRow\n    }\n  }\n}': typeof types.DepositRowFragmentDoc;
};
const documents: Documents = {
  'fragment DepositRow on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  createdAt\n  updatedAt\n}\n\nfragment TimelineEvent on DepositEvent {\n  id\n  status\n  providerStatus\n  amount\n  currency\n  txHash\n  network\n  fee\n  occurredAt\n  receivedAt\n}\n\nfragment DepositDetail on Deposit {\n  ...DepositRow\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  events {\n    ...TimelineEvent\n  }\n}\n\nquery OperatorProbe {\n  deposits(first: 1) {\n    pageInfo {\n      hasNextPage\n    }\n  }\n}\n\nquery DepositList($status: DepositStatus, $userId: String, $first: Int, $after: String) {\n  deposits(status: $status, userId: $userId, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositRow\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery DepositRowById($id: ID!) {\n  deposit(id: $id) {\n    ...DepositRow\n  }\n}\n\nquery DepositPage($id: ID!) {\n  deposit(id: $id) {\n    ...DepositDetail\n  }\n}\n\nsubscription LiveDepositChanges($after: String) {\n  depositStatusChanged(after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      ...DepositRow\n    }\n  }\n}':
    types.DepositRowFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: 'fragment DepositRow on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  createdAt\n  updatedAt\n}\n\nfragment TimelineEvent on DepositEvent {\n  id\n  status\n  providerStatus\n  amount\n  currency\n  txHash\n  network\n  fee\n  occurredAt\n  receivedAt\n}\n\nfragment DepositDetail on Deposit {\n  ...DepositRow\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  events {\n    ...TimelineEvent\n  }\n}\n\nquery OperatorProbe {\n  deposits(first: 1) {\n    pageInfo {\n      hasNextPage\n    }\n  }\n}\n\nquery DepositList($status: DepositStatus, $userId: String, $first: Int, $after: String) {\n  deposits(status: $status, userId: $userId, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositRow\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery DepositRowById($id: ID!) {\n  deposit(id: $id) {\n    ...DepositRow\n  }\n}\n\nquery DepositPage($id: ID!) {\n  deposit(id: $id) {\n    ...DepositDetail\n  }\n}\n\nsubscription LiveDepositChanges($after: String) {\n  depositStatusChanged(after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      ...DepositRow\n    }\n  }\n}',
): typeof import('./graphql.js').DepositRowFragmentDoc;

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

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
    "fragment DepositFields on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  createdAt\n  updatedAt\n}\n\nmutation CreateDeposit($input: CreateDepositInput!) {\n  createDeposit(input: $input) {\n    clientToken\n    deposit {\n      ...DepositFields\n    }\n  }\n}\n\nquery Deposit($id: ID!) {\n  deposit(id: $id) {\n    ...DepositFields\n    events {\n      id\n      status\n      providerStatus\n      amount\n      currency\n      txHash\n      network\n      fee\n      occurredAt\n      receivedAt\n    }\n  }\n}\n\nquery Deposits($userId: String, $status: DepositStatus, $first: Int, $after: String) {\n  deposits(userId: $userId, status: $status, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Balances($userId: String!) {\n  balances(userId: $userId) {\n    userId\n    currency\n    available\n  }\n}\n\nquery WalletBalances($provider: String!) {\n  walletBalances(provider: $provider) {\n    provider\n    address\n    asset\n    available\n    blockchain\n    reserved\n    updatedAt\n  }\n}\n\nquery UserVerification($userId: String!) {\n  userVerification(userId: $userId)\n}\n\nsubscription DepositStatusChanged($depositId: ID, $userId: String, $after: String) {\n  depositStatusChanged(depositId: $depositId, userId: $userId, after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      id\n      userId\n      status\n      amount\n      receivedAmount\n      receivedCurrency\n      paymentState\n      rejectionReason\n    }\n  }\n}": typeof types.DepositFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment DepositFields on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  createdAt\n  updatedAt\n}\n\nmutation CreateDeposit($input: CreateDepositInput!) {\n  createDeposit(input: $input) {\n    clientToken\n    deposit {\n      ...DepositFields\n    }\n  }\n}\n\nquery Deposit($id: ID!) {\n  deposit(id: $id) {\n    ...DepositFields\n    events {\n      id\n      status\n      providerStatus\n      amount\n      currency\n      txHash\n      network\n      fee\n      occurredAt\n      receivedAt\n    }\n  }\n}\n\nquery Deposits($userId: String, $status: DepositStatus, $first: Int, $after: String) {\n  deposits(userId: $userId, status: $status, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Balances($userId: String!) {\n  balances(userId: $userId) {\n    userId\n    currency\n    available\n  }\n}\n\nquery WalletBalances($provider: String!) {\n  walletBalances(provider: $provider) {\n    provider\n    address\n    asset\n    available\n    blockchain\n    reserved\n    updatedAt\n  }\n}\n\nquery UserVerification($userId: String!) {\n  userVerification(userId: $userId)\n}\n\nsubscription DepositStatusChanged($depositId: ID, $userId: String, $after: String) {\n  depositStatusChanged(depositId: $depositId, userId: $userId, after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      id\n      userId\n      status\n      amount\n      receivedAmount\n      receivedCurrency\n      paymentState\n      rejectionReason\n    }\n  }\n}": types.DepositFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment DepositFields on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  createdAt\n  updatedAt\n}\n\nmutation CreateDeposit($input: CreateDepositInput!) {\n  createDeposit(input: $input) {\n    clientToken\n    deposit {\n      ...DepositFields\n    }\n  }\n}\n\nquery Deposit($id: ID!) {\n  deposit(id: $id) {\n    ...DepositFields\n    events {\n      id\n      status\n      providerStatus\n      amount\n      currency\n      txHash\n      network\n      fee\n      occurredAt\n      receivedAt\n    }\n  }\n}\n\nquery Deposits($userId: String, $status: DepositStatus, $first: Int, $after: String) {\n  deposits(userId: $userId, status: $status, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Balances($userId: String!) {\n  balances(userId: $userId) {\n    userId\n    currency\n    available\n  }\n}\n\nquery WalletBalances($provider: String!) {\n  walletBalances(provider: $provider) {\n    provider\n    address\n    asset\n    available\n    blockchain\n    reserved\n    updatedAt\n  }\n}\n\nquery UserVerification($userId: String!) {\n  userVerification(userId: $userId)\n}\n\nsubscription DepositStatusChanged($depositId: ID, $userId: String, $after: String) {\n  depositStatusChanged(depositId: $depositId, userId: $userId, after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      id\n      userId\n      status\n      amount\n      receivedAmount\n      receivedCurrency\n      paymentState\n      rejectionReason\n    }\n  }\n}"): (typeof documents)["fragment DepositFields on Deposit {\n  id\n  userId\n  provider\n  currency\n  amount\n  minAmount\n  maxAmount\n  receivedAmount\n  receivedCurrency\n  paymentState\n  status\n  rejectionReason\n  checkoutUrl\n  redirectUrl\n  expiresAt\n  createdAt\n  updatedAt\n}\n\nmutation CreateDeposit($input: CreateDepositInput!) {\n  createDeposit(input: $input) {\n    clientToken\n    deposit {\n      ...DepositFields\n    }\n  }\n}\n\nquery Deposit($id: ID!) {\n  deposit(id: $id) {\n    ...DepositFields\n    events {\n      id\n      status\n      providerStatus\n      amount\n      currency\n      txHash\n      network\n      fee\n      occurredAt\n      receivedAt\n    }\n  }\n}\n\nquery Deposits($userId: String, $status: DepositStatus, $first: Int, $after: String) {\n  deposits(userId: $userId, status: $status, first: $first, after: $after) {\n    edges {\n      cursor\n      node {\n        ...DepositFields\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery Balances($userId: String!) {\n  balances(userId: $userId) {\n    userId\n    currency\n    available\n  }\n}\n\nquery WalletBalances($provider: String!) {\n  walletBalances(provider: $provider) {\n    provider\n    address\n    asset\n    available\n    blockchain\n    reserved\n    updatedAt\n  }\n}\n\nquery UserVerification($userId: String!) {\n  userVerification(userId: $userId)\n}\n\nsubscription DepositStatusChanged($depositId: ID, $userId: String, $after: String) {\n  depositStatusChanged(depositId: $depositId, userId: $userId, after: $after) {\n    cursor\n    status\n    previousStatus\n    occurredAt\n    deposit {\n      id\n      userId\n      status\n      amount\n      receivedAmount\n      receivedCurrency\n      paymentState\n      rejectionReason\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;
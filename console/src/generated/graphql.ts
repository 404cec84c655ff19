/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type DepositStatus =
  'COMPLETED' | 'CONFIRMED' | 'CONFIRMING' | 'DETECTED' | 'EXPIRED' | 'FAILED' | 'PENDING' | 'REJECTED' | 'SCREENING';

export type PaymentState = 'CORRECT' | 'OVERPAID' | 'UNDERPAID';

export type DepositRowFragment = {
  id: string;
  userId: string;
  provider: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  receivedAmount: string | null;
  receivedCurrency: string | null;
  paymentState: PaymentState | null;
  status: DepositStatus;
  rejectionReason: string | null;
  createdAt: string;
  updatedAt: string;
};

export type TimelineEventFragment = {
  id: string;
  status: DepositStatus;
  providerStatus: string;
  amount: string | null;
  currency: string | null;
  txHash: string | null;
  network: string | null;
  fee: string | null;
  occurredAt: string;
  receivedAt: string;
};

export type DepositDetailFragment = {
  checkoutUrl: string | null;
  redirectUrl: string | null;
  expiresAt: string;
  id: string;
  userId: string;
  provider: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  receivedAmount: string | null;
  receivedCurrency: string | null;
  paymentState: PaymentState | null;
  status: DepositStatus;
  rejectionReason: string | null;
  createdAt: string;
  updatedAt: string;
  events: Array<{
    id: string;
    status: DepositStatus;
    providerStatus: string;
    amount: string | null;
    currency: string | null;
    txHash: string | null;
    network: string | null;
    fee: string | null;
    occurredAt: string;
    receivedAt: string;
  }>;
};

export type OperatorProbeQueryVariables = Exact<{ [key: string]: never }>;

export type OperatorProbeQuery = { deposits: { pageInfo: { hasNextPage: boolean } } };

export type DepositListQueryVariables = Exact<{
  status?: DepositStatus | null | undefined;
  userId?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;

export type DepositListQuery = {
  deposits: {
    edges: Array<{
      cursor: string;
      node: {
        id: string;
        userId: string;
        provider: string;
        currency: string;
        amount: string | null;
        minAmount: string | null;
        maxAmount: string | null;
        receivedAmount: string | null;
        receivedCurrency: string | null;
        paymentState: PaymentState | null;
        status: DepositStatus;
        rejectionReason: string | null;
        createdAt: string;
        updatedAt: string;
      };
    }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

export type DepositRowByIdQueryVariables = Exact<{
  id: string | number;
}>;

export type DepositRowByIdQuery = {
  deposit: {
    id: string;
    userId: string;
    provider: string;
    currency: string;
    amount: string | null;
    minAmount: string | null;
    maxAmount: string | null;
    receivedAmount: string | null;
    receivedCurrency: string | null;
    paymentState: PaymentState | null;
    status: DepositStatus;
    rejectionReason: string | null;
    createdAt: string;
    updatedAt: string;
  } | null;
};

export type DepositPageQueryVariables = Exact<{
  id: string | number;
}>;

export type DepositPageQuery = {
  deposit: {
    checkoutUrl: string | null;
    redirectUrl: string | null;
    expiresAt: string;
    id: string;
    userId: string;
    provider: string;
    currency: string;
    amount: string | null;
    minAmount: string | null;
    maxAmount: string | null;
    receivedAmount: string | null;
    receivedCurrency: string | null;
    paymentState: PaymentState | null;
    status: DepositStatus;
    rejectionReason: string | null;
    createdAt: string;
    updatedAt: string;
    events: Array<{
      id: string;
      status: DepositStatus;
      providerStatus: string;
      amount: string | null;
      currency: string | null;
      txHash: string | null;
      network: string | null;
      fee: string | null;
      occurredAt: string;
      receivedAt: string;
    }>;
  } | null;
};

export type LiveDepositChangesSubscriptionVariables = Exact<{
  after?: string | null | undefined;
}>;

export type LiveDepositChangesSubscription = {
  depositStatusChanged: {
    cursor: string;
    status: DepositStatus;
    previousStatus: DepositStatus | null;
    occurredAt: string;
    deposit: {
      id: string;
      userId: string;
      provider: string;
      currency: string;
      amount: string | null;
      minAmount: string | null;
      maxAmount: string | null;
      receivedAmount: string | null;
      receivedCurrency: string | null;
      paymentState: PaymentState | null;
      status: DepositStatus;
      rejectionReason: string | null;
      createdAt: string;
      updatedAt: string;
    };
  };
};

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DepositRowFragmentDoc = new TypedDocumentString(
  `
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}
    `,
  { fragmentName: 'DepositRow' },
) as unknown as TypedDocumentString<DepositRowFragment, unknown>;
export const TimelineEventFragmentDoc = new TypedDocumentString(
  `
    fragment TimelineEvent on DepositEvent {
  id
  status
  providerStatus
  amount
  currency
  txHash
  network
  fee
  occurredAt
  receivedAt
}
    `,
  { fragmentName: 'TimelineEvent' },
) as unknown as TypedDocumentString<TimelineEventFragment, unknown>;
export const DepositDetailFragmentDoc = new TypedDocumentString(
  `
    fragment DepositDetail on Deposit {
  ...DepositRow
  checkoutUrl
  redirectUrl
  expiresAt
  events {
    ...TimelineEvent
  }
}
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}
fragment TimelineEvent on DepositEvent {
  id
  status
  providerStatus
  amount
  currency
  txHash
  network
  fee
  occurredAt
  receivedAt
}`,
  { fragmentName: 'DepositDetail' },
) as unknown as TypedDocumentString<DepositDetailFragment, unknown>;
export const OperatorProbeDocument = new TypedDocumentString(`
    query OperatorProbe {
  deposits(first: 1) {
    pageInfo {
      hasNextPage
    }
  }
}
    `) as unknown as TypedDocumentString<OperatorProbeQuery, OperatorProbeQueryVariables>;
export const DepositListDocument = new TypedDocumentString(`
    query DepositList($status: DepositStatus, $userId: String, $first: Int, $after: String) {
  deposits(status: $status, userId: $userId, first: $first, after: $after) {
    edges {
      cursor
      node {
        ...DepositRow
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<DepositListQuery, DepositListQueryVariables>;
export const DepositRowByIdDocument = new TypedDocumentString(`
    query DepositRowById($id: ID!) {
  deposit(id: $id) {
    ...DepositRow
  }
}
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<DepositRowByIdQuery, DepositRowByIdQueryVariables>;
export const DepositPageDocument = new TypedDocumentString(`
    query DepositPage($id: ID!) {
  deposit(id: $id) {
    ...DepositDetail
  }
}
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}
fragment TimelineEvent on DepositEvent {
  id
  status
  providerStatus
  amount
  currency
  txHash
  network
  fee
  occurredAt
  receivedAt
}
fragment DepositDetail on Deposit {
  ...DepositRow
  checkoutUrl
  redirectUrl
  expiresAt
  events {
    ...TimelineEvent
  }
}`) as unknown as TypedDocumentString<DepositPageQuery, DepositPageQueryVariables>;
export const LiveDepositChangesDocument = new TypedDocumentString(`
    subscription LiveDepositChanges($after: String) {
  depositStatusChanged(after: $after) {
    cursor
    status
    previousStatus
    occurredAt
    deposit {
      ...DepositRow
    }
  }
}
    fragment DepositRow on Deposit {
  id
  userId
  provider
  currency
  amount
  minAmount
  maxAmount
  receivedAmount
  receivedCurrency
  paymentState
  status
  rejectionReason
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<LiveDepositChangesSubscription, LiveDepositChangesSubscriptionVariables>;

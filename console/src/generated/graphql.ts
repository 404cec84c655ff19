/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type DeliveryStatus = 'FAILED' | 'PENDING' | 'SUCCEEDED';

export type DepositStatus =
  | 'COMPLETED'
  | 'CONFIRMED'
  | 'CONFIRMING'
  | 'DETECTED'
  | 'EXPIRED'
  | 'FAILED'
  | 'PENDING'
  | 'REJECTED'
  | 'REVERSED'
  | 'SCREENING';

export type EventSource = 'OPERATOR' | 'SYNC' | 'SYSTEM' | 'WEBHOOK';

export type PaymentState = 'CORRECT' | 'OVERPAID' | 'UNDERPAID';

export type Resolution = 'CREDITED_MANUALLY' | 'REFUNDED' | 'REVERSED';

/** What an operator may do with exception money: CREDIT it, MARK_REFUNDED (returned outside the gateway), REVERSE a completed credit */
export type ResolutionAction = 'CREDIT' | 'MARK_REFUNDED' | 'REVERSE';

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
  resolution: Resolution | null;
  needsAttention: boolean;
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
  source: EventSource;
  actor: string | null;
  reason: string | null;
  reference: string | null;
};

export type DepositDetailFragment = {
  checkoutUrl: string | null;
  redirectUrl: string | null;
  expiresAt: string;
  syncable: boolean;
  availableActions: Array<ResolutionAction>;
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
  resolution: Resolution | null;
  needsAttention: boolean;
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
    source: EventSource;
    actor: string | null;
    reason: string | null;
    reference: string | null;
  }>;
};

export type OperatorProbeQueryVariables = Exact<{ [key: string]: never }>;

export type OperatorProbeQuery = { apiKeys: Array<{ id: string }> };

export type DepositListQueryVariables = Exact<{
  status?: DepositStatus | null | undefined;
  needsAttention?: boolean | null | undefined;
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
        resolution: Resolution | null;
        needsAttention: boolean;
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
    resolution: Resolution | null;
    needsAttention: boolean;
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
    syncable: boolean;
    availableActions: Array<ResolutionAction>;
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
    resolution: Resolution | null;
    needsAttention: boolean;
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
      source: EventSource;
      actor: string | null;
      reason: string | null;
      reference: string | null;
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
      resolution: Resolution | null;
      needsAttention: boolean;
      createdAt: string;
      updatedAt: string;
    };
  };
};

export type ResolveDepositMutationVariables = Exact<{
  id: string | number;
  action: ResolutionAction;
  reason: string;
  reference?: string | null | undefined;
}>;

export type ResolveDepositMutation = {
  resolveDeposit: {
    checkoutUrl: string | null;
    redirectUrl: string | null;
    expiresAt: string;
    syncable: boolean;
    availableActions: Array<ResolutionAction>;
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
    resolution: Resolution | null;
    needsAttention: boolean;
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
      source: EventSource;
      actor: string | null;
      reason: string | null;
      reference: string | null;
    }>;
  };
};

export type SyncDepositMutationVariables = Exact<{
  id: string | number;
}>;

export type SyncDepositMutation = {
  syncDeposit: {
    checkoutUrl: string | null;
    redirectUrl: string | null;
    expiresAt: string;
    syncable: boolean;
    availableActions: Array<ResolutionAction>;
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
    resolution: Resolution | null;
    needsAttention: boolean;
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
      source: EventSource;
      actor: string | null;
      reason: string | null;
      reference: string | null;
    }>;
  };
};

export type WebhookEndpointRowFragment = {
  id: string;
  url: string;
  description: string | null;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
};

export type WebhookDeliveryRowFragment = {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
};

export type WebhookEndpointsQueryVariables = Exact<{ [key: string]: never }>;

export type WebhookEndpointsQuery = {
  webhookEndpoints: Array<{
    id: string;
    url: string;
    description: string | null;
    enabled: boolean;
    disabledReason: string | null;
    createdAt: string;
  }>;
};

export type WebhookDeliveriesQueryVariables = Exact<{
  endpointId: string | number;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;

export type WebhookDeliveriesQuery = {
  webhookDeliveries: {
    edges: Array<{
      cursor: string;
      node: {
        id: string;
        endpointId: string;
        eventId: string;
        eventType: string;
        status: DeliveryStatus;
        attempts: number;
        lastAttemptAt: string | null;
        lastResponseStatus: number | null;
        lastError: string | null;
        nextAttemptAt: string | null;
        createdAt: string;
      };
    }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

export type CreateWebhookEndpointMutationVariables = Exact<{
  url: string;
  description?: string | null | undefined;
}>;

export type CreateWebhookEndpointMutation = {
  createWebhookEndpoint: {
    secret: string;
    endpoint: {
      id: string;
      url: string;
      description: string | null;
      enabled: boolean;
      disabledReason: string | null;
      createdAt: string;
    };
  };
};

export type SetWebhookEndpointEnabledMutationVariables = Exact<{
  id: string | number;
  enabled: boolean;
}>;

export type SetWebhookEndpointEnabledMutation = {
  updateWebhookEndpoint: {
    id: string;
    url: string;
    description: string | null;
    enabled: boolean;
    disabledReason: string | null;
    createdAt: string;
  };
};

export type RotateWebhookEndpointSecretMutationVariables = Exact<{
  id: string | number;
}>;

export type RotateWebhookEndpointSecretMutation = {
  rotateWebhookEndpointSecret: {
    secret: string;
    endpoint: {
      id: string;
      url: string;
      description: string | null;
      enabled: boolean;
      disabledReason: string | null;
      createdAt: string;
    };
  };
};

export type RedeliverWebhookMutationVariables = Exact<{
  deliveryId: string | number;
}>;

export type RedeliverWebhookMutation = {
  redeliverWebhook: {
    id: string;
    endpointId: string;
    eventId: string;
    eventType: string;
    status: DeliveryStatus;
    attempts: number;
    lastAttemptAt: string | null;
    lastResponseStatus: number | null;
    lastError: string | null;
    nextAttemptAt: string | null;
    createdAt: string;
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
  resolution
  needsAttention
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
  source
  actor
  reason
  reference
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
  syncable
  availableActions
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
  resolution
  needsAttention
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
  source
  actor
  reason
  reference
}`,
  { fragmentName: 'DepositDetail' },
) as unknown as TypedDocumentString<DepositDetailFragment, unknown>;
export const WebhookEndpointRowFragmentDoc = new TypedDocumentString(
  `
    fragment WebhookEndpointRow on WebhookEndpoint {
  id
  url
  description
  enabled
  disabledReason
  createdAt
}
    `,
  { fragmentName: 'WebhookEndpointRow' },
) as unknown as TypedDocumentString<WebhookEndpointRowFragment, unknown>;
export const WebhookDeliveryRowFragmentDoc = new TypedDocumentString(
  `
    fragment WebhookDeliveryRow on WebhookDelivery {
  id
  endpointId
  eventId
  eventType
  status
  attempts
  lastAttemptAt
  lastResponseStatus
  lastError
  nextAttemptAt
  createdAt
}
    `,
  { fragmentName: 'WebhookDeliveryRow' },
) as unknown as TypedDocumentString<WebhookDeliveryRowFragment, unknown>;
export const OperatorProbeDocument = new TypedDocumentString(`
    query OperatorProbe {
  apiKeys {
    id
  }
}
    `) as unknown as TypedDocumentString<OperatorProbeQuery, OperatorProbeQueryVariables>;
export const DepositListDocument = new TypedDocumentString(`
    query DepositList($status: DepositStatus, $needsAttention: Boolean, $userId: String, $first: Int, $after: String) {
  deposits(
    status: $status
    needsAttention: $needsAttention
    userId: $userId
    first: $first
    after: $after
  ) {
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
  resolution
  needsAttention
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
  resolution
  needsAttention
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
  resolution
  needsAttention
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
  source
  actor
  reason
  reference
}
fragment DepositDetail on Deposit {
  ...DepositRow
  checkoutUrl
  redirectUrl
  expiresAt
  syncable
  availableActions
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
  resolution
  needsAttention
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<LiveDepositChangesSubscription, LiveDepositChangesSubscriptionVariables>;
export const ResolveDepositDocument = new TypedDocumentString(`
    mutation ResolveDeposit($id: ID!, $action: ResolutionAction!, $reason: String!, $reference: String) {
  resolveDeposit(id: $id, action: $action, reason: $reason, reference: $reference) {
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
  resolution
  needsAttention
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
  source
  actor
  reason
  reference
}
fragment DepositDetail on Deposit {
  ...DepositRow
  checkoutUrl
  redirectUrl
  expiresAt
  syncable
  availableActions
  events {
    ...TimelineEvent
  }
}`) as unknown as TypedDocumentString<ResolveDepositMutation, ResolveDepositMutationVariables>;
export const SyncDepositDocument = new TypedDocumentString(`
    mutation SyncDeposit($id: ID!) {
  syncDeposit(id: $id) {
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
  resolution
  needsAttention
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
  source
  actor
  reason
  reference
}
fragment DepositDetail on Deposit {
  ...DepositRow
  checkoutUrl
  redirectUrl
  expiresAt
  syncable
  availableActions
  events {
    ...TimelineEvent
  }
}`) as unknown as TypedDocumentString<SyncDepositMutation, SyncDepositMutationVariables>;
export const WebhookEndpointsDocument = new TypedDocumentString(`
    query WebhookEndpoints {
  webhookEndpoints {
    ...WebhookEndpointRow
  }
}
    fragment WebhookEndpointRow on WebhookEndpoint {
  id
  url
  description
  enabled
  disabledReason
  createdAt
}`) as unknown as TypedDocumentString<WebhookEndpointsQuery, WebhookEndpointsQueryVariables>;
export const WebhookDeliveriesDocument = new TypedDocumentString(`
    query WebhookDeliveries($endpointId: ID!, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    edges {
      cursor
      node {
        ...WebhookDeliveryRow
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment WebhookDeliveryRow on WebhookDelivery {
  id
  endpointId
  eventId
  eventType
  status
  attempts
  lastAttemptAt
  lastResponseStatus
  lastError
  nextAttemptAt
  createdAt
}`) as unknown as TypedDocumentString<WebhookDeliveriesQuery, WebhookDeliveriesQueryVariables>;
export const CreateWebhookEndpointDocument = new TypedDocumentString(`
    mutation CreateWebhookEndpoint($url: String!, $description: String) {
  createWebhookEndpoint(url: $url, description: $description) {
    endpoint {
      ...WebhookEndpointRow
    }
    secret
  }
}
    fragment WebhookEndpointRow on WebhookEndpoint {
  id
  url
  description
  enabled
  disabledReason
  createdAt
}`) as unknown as TypedDocumentString<CreateWebhookEndpointMutation, CreateWebhookEndpointMutationVariables>;
export const SetWebhookEndpointEnabledDocument = new TypedDocumentString(`
    mutation SetWebhookEndpointEnabled($id: ID!, $enabled: Boolean!) {
  updateWebhookEndpoint(id: $id, enabled: $enabled) {
    ...WebhookEndpointRow
  }
}
    fragment WebhookEndpointRow on WebhookEndpoint {
  id
  url
  description
  enabled
  disabledReason
  createdAt
}`) as unknown as TypedDocumentString<SetWebhookEndpointEnabledMutation, SetWebhookEndpointEnabledMutationVariables>;
export const RotateWebhookEndpointSecretDocument = new TypedDocumentString(`
    mutation RotateWebhookEndpointSecret($id: ID!) {
  rotateWebhookEndpointSecret(id: $id) {
    endpoint {
      ...WebhookEndpointRow
    }
    secret
  }
}
    fragment WebhookEndpointRow on WebhookEndpoint {
  id
  url
  description
  enabled
  disabledReason
  createdAt
}`) as unknown as TypedDocumentString<
  RotateWebhookEndpointSecretMutation,
  RotateWebhookEndpointSecretMutationVariables
>;
export const RedeliverWebhookDocument = new TypedDocumentString(`
    mutation RedeliverWebhook($deliveryId: ID!) {
  redeliverWebhook(deliveryId: $deliveryId) {
    ...WebhookDeliveryRow
  }
}
    fragment WebhookDeliveryRow on WebhookDelivery {
  id
  endpointId
  eventId
  eventType
  status
  attempts
  lastAttemptAt
  lastResponseStatus
  lastError
  nextAttemptAt
  createdAt
}`) as unknown as TypedDocumentString<RedeliverWebhookMutation, RedeliverWebhookMutationVariables>;

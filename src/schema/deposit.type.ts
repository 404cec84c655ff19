import { Field, ID, ObjectType } from 'type-graphql';
import { DepositStatus, EventSource, PaymentState, Resolution } from './enums.js';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

/**
 * The GraphQL shapes of the contract. Field names equal the entity property
 * names, so resolvers return entities as they are and nothing is copied.
 */
@ObjectType('DepositEvent')
export class DepositEventType {
  @Field(() => ID) id!: string;
  @Field(() => DepositStatus, { description: 'The unified status this event maps to' }) status!: DepositStatus;
  @Field(() => String, { description: 'As the provider wrote it, e.g. SCREENING_REQUESTED, PAID' })
  providerStatus!: string;
  @Field(() => DecimalScalar, { nullable: true }) amount?: string | null;
  @Field(() => String, { nullable: true }) currency?: string | null;
  @Field(() => String, { nullable: true }) txHash?: string | null;
  @Field(() => String, { nullable: true }) network?: string | null;
  @Field(() => DecimalScalar, { nullable: true }) fee?: string | null;
  @Field(() => DateTimeScalar) occurredAt!: Date;
  @Field(() => DateTimeScalar) receivedAt!: Date;
  @Field(() => EventSource, {
    description:
      "WEBHOOK: a provider's delivery; SYNC: the provider's answer to a status request; OPERATOR: a resolution; SYSTEM: expiry by the sweeper",
  })
  source!: EventSource;
  @Field(() => String, { nullable: true, description: 'OPERATOR: the label of the key that acted' }) actor?:
    string | null;
  @Field(() => String, { nullable: true, description: 'OPERATOR: the reason given' }) reason?: string | null;
  @Field(() => String, { nullable: true, description: 'OPERATOR: an outside reference (refund, ticket)' })
  reference?: string | null;
}

@ObjectType('Deposit')
export class DepositType {
  @Field(() => ID, { description: 'The UUID made at creation' }) id!: string;
  @Field(() => String) userId!: string;
  @Field(() => String) provider!: string;
  @Field(() => String) currency!: string;
  @Field(() => DecimalScalar, { nullable: true, description: 'Fixed-amount deposit' }) amount?: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Open-amount deposit: lower bound' }) minAmount?:
    string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Open-amount deposit: upper bound' }) maxAmount?:
    string | null;
  @Field(() => DecimalScalar, { nullable: true }) receivedAmount?: string | null;
  @Field(() => String, { nullable: true }) receivedCurrency?: string | null;
  @Field(() => PaymentState, { nullable: true, description: 'Null until money in the right currency is seen' })
  paymentState?: PaymentState | null;
  @Field(() => DepositStatus) status!: DepositStatus;
  @Field(() => String, { nullable: true, description: 'UNDERPAID, CURRENCY_MISMATCH, LATE_PAYMENT' })
  rejectionReason?: string | null;
  @Field(() => String, { nullable: true, description: 'Null where the provider has no checkout (layer1, depasify)' })
  checkoutUrl?: string | null;
  @Field(() => String, { nullable: true }) redirectUrl?: string | null;
  @Field(() => DateTimeScalar) expiresAt!: Date;
  @Field(() => DateTimeScalar) createdAt!: Date;
  @Field(() => DateTimeScalar) updatedAt!: Date;
  @Field(() => Resolution, { nullable: true, description: "An operator's resolution of its money, once there is one" })
  resolution?: Resolution | null;
  @Field(() => Boolean, {
    description:
      'Money received and neither credited nor resolved, or a completed payment seen without its amount: the operator inbox',
  })
  needsAttention!: boolean;
  // `events` is a field resolver (DepositResolver.events), oldest first; `availableActions` is
  // ResolutionResolver's (empty for all but operators).
}

@ObjectType('CreateDepositPayload')
export class CreateDepositPayload {
  @Field(() => DepositType) deposit!: DepositType;
  @Field(() => String, { description: 'Scoped to this one deposit; safe to hand to a browser' }) clientToken!: string;
}

@ObjectType('DepositEdge')
export class DepositEdge {
  @Field(() => String) cursor!: string;
  @Field(() => DepositType) node!: DepositType;
}

@ObjectType('PageInfo')
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('DepositConnection')
export class DepositConnection {
  @Field(() => [DepositEdge]) edges!: DepositEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType('Balance')
export class BalanceType {
  @Field(() => String) userId!: string;
  @Field(() => String) currency!: string;
  @Field(() => DecimalScalar) available!: string;
  @Field(() => DecimalScalar, {
    description: "Seen but not final: the latest reported amount of the user's deposits in DETECTED..SCREENING",
  })
  pending!: string;
}

@ObjectType('WalletBalance', { description: "A provider's own report (layer1 balance:updated)" })
export class WalletBalanceType {
  @Field(() => String) provider!: string;
  @Field(() => String) address!: string;
  @Field(() => String) asset!: string;
  @Field(() => DecimalScalar) available!: string;
  @Field(() => DecimalScalar) blockchain!: string;
  @Field(() => DecimalScalar) reserved!: string;
  @Field(() => DateTimeScalar) updatedAt!: Date;
}

@ObjectType('DepositStatusChange')
export class DepositStatusChange {
  @Field(() => String, { description: 'Opaque; pass as `after` to resume without gaps' }) cursor!: string;
  @Field(() => DepositType) deposit!: DepositType;
  @Field(() => DepositStatus) status!: DepositStatus;
  @Field(() => DepositStatus, { nullable: true }) previousStatus!: DepositStatus | null;
  @Field(() => DateTimeScalar) occurredAt!: Date;
}

@ObjectType('DepositStatusChangeEdge')
export class DepositStatusChangeEdge {
  @Field(() => String) cursor!: string;
  @Field(() => DepositStatusChange) node!: DepositStatusChange;
}

@ObjectType('DepositStatusChangeConnection')
export class DepositStatusChangeConnection {
  @Field(() => [DepositStatusChangeEdge]) edges!: DepositStatusChangeEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

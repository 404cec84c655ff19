import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import type { LedgerEntryKind as Kind } from '../store/ledger.store.js';
import { PageInfo } from './deposit.type.js';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

/** The kinds of ledger entry, as GraphQL names them (the store's union, as an enum). */
export enum LedgerEntryKind {
  DEPOSIT = 'DEPOSIT',
  MANUAL_CREDIT = 'MANUAL_CREDIT',
  REVERSAL = 'REVERSAL',
}

registerEnumType(LedgerEntryKind, {
  name: 'LedgerEntryKind',
  description: "DEPOSIT: a deposit's credit; MANUAL_CREDIT: an operator's; REVERSAL: an operator's debit of a credit",
});

@ObjectType('LedgerEntry', { description: 'One change to a balance; a balance is the sum of its entries' })
export class LedgerEntryType {
  @Field(() => ID) id!: string;
  @Field(() => String) userId!: string;
  @Field(() => String) currency!: string;
  @Field(() => DecimalScalar, { description: 'Signed: credits positive, reversals negative' }) amount!: string;
  @Field(() => DecimalScalar, { description: "The user's balance in that currency right after this entry" })
  balanceAfter!: string;
  @Field(() => LedgerEntryKind) kind!: Kind;
  @Field(() => ID, { nullable: true }) depositId!: string | null;
  @Field(() => DateTimeScalar) createdAt!: Date;
}

@ObjectType('LedgerEntryEdge')
export class LedgerEntryEdge {
  @Field(() => String) cursor!: string;
  @Field(() => LedgerEntryType) node!: LedgerEntryType;
}

@ObjectType('LedgerEntryConnection')
export class LedgerEntryConnection {
  @Field(() => [LedgerEntryEdge]) edges!: LedgerEntryEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

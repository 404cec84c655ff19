import { type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { DepositStatus } from '../domain/deposit-status.js';
import { Deposit } from './deposit.entity.js';
import { ExactDecimalType } from './exact-decimal.type.js';

/** The timeline: one row per provider event about a deposit, also those that changed nothing. */
@Entity({ tableName: 'deposit_event' })
@Index({ name: 'deposit_event_deposit_idx', properties: ['deposit', 'occurredAt', 'receivedAt'] })
export class DepositEvent {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => Deposit, { deleteRule: 'cascade' })
  deposit!: Deposit;

  /** The inbox row it came from: unique, so replaying an event never adds a second row. */
  @Property({ type: 'bigint', unique: true })
  inboxId!: string;

  @Enum({ items: () => DepositStatus })
  status!: DepositStatus;

  @Property({ type: 'string', length: 100 })
  providerStatus!: string;

  @Property({ type: ExactDecimalType, nullable: true })
  amount?: string | null;

  @Property({ type: 'string', length: 20, nullable: true })
  currency?: string | null;

  @Property({ type: 'string', length: 200, nullable: true })
  txHash?: string | null;

  @Property({ type: 'string', length: 100, nullable: true })
  network?: string | null;

  @Property({ type: ExactDecimalType, nullable: true })
  fee?: string | null;

  @Property({ type: 'datetime' })
  occurredAt!: Date;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  receivedAt!: Opt<Date>;
}

import { type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { EventSource } from '../domain/audit.js';
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

  /**
   * The inbox row it came from: unique, so replaying an event never adds a second row.
   * None for events no delivery brought (an operator's resolution, expiry by the sweeper).
   */
  @Property({ type: 'bigint', unique: true, nullable: true })
  inboxId?: string | null;

  @Enum({ items: () => EventSource, default: EventSource.WEBHOOK })
  source!: Opt<EventSource>;

  /** OPERATOR events: the label of the API key that acted. */
  @Property({ type: 'string', length: 200, nullable: true })
  actor?: string | null;

  /** OPERATOR events: the reason given. */
  @Property({ type: 'string', length: 500, nullable: true })
  reason?: string | null;

  /** OPERATOR events: an outside reference (refund transaction, ticket). */
  @Property({ type: 'string', length: 200, nullable: true })
  reference?: string | null;

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

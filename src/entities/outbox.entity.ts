import { type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { DepositStatus } from '../domain/deposit-status.js';

/**
 * One row per deposit status change, written in the transaction that made it.
 * The relay gives each row its `seq` (the subscription cursor: one order across
 * everything) and publishes it; `published_at` is set only after PUBLISH succeeded.
 */
@Entity({ tableName: 'outbox' })
@Index({
  name: 'outbox_unsequenced_idx',
  expression: 'create index "outbox_unsequenced_idx" on "outbox" ("id") where "seq" is null',
})
@Index({
  name: 'outbox_unpublished_idx',
  expression:
    'create index "outbox_unpublished_idx" on "outbox" ("seq") where "published_at" is null and "seq" is not null',
})
@Index({ name: 'outbox_tenant_seq_idx', properties: ['tenantId', 'seq'] })
@Index({ name: 'outbox_deposit_seq_idx', properties: ['depositId', 'seq'] })
export class Outbox {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'bigint', nullable: true, unique: true })
  seq?: string | null;

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'uuid' })
  depositId!: string;

  @Property({ type: 'string', length: 4000 })
  userId!: string;

  @Enum({ items: () => DepositStatus })
  status!: DepositStatus;

  @Enum({ items: () => DepositStatus, nullable: true })
  previousStatus?: DepositStatus | null;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  occurredAt!: Opt<Date>;

  @Property({ type: 'datetime', nullable: true })
  publishedAt?: Date | null;
}

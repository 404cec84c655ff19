import { type Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';

/** `Idempotency-Key` of createDeposit: per tenant, with the hash of the input it was first used with. */
@Entity({ tableName: 'idempotency_key' })
@Unique({ name: 'idempotency_key_unique', properties: ['tenantId', 'key'] })
@Index({ name: 'idempotency_key_expires_idx', properties: ['expiresAt'] })
export class IdempotencyKey {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'string', length: 255 })
  key!: string;

  @Property({ type: 'string', length: 64 })
  requestHash!: string;

  @Property({ type: 'uuid' })
  depositId!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}

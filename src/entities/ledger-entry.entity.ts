import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { ExactDecimalType } from './exact-decimal.type.js';

/** A credit (mint). The unique deposit id is the exactly-once guarantee: one credit per deposit, ever. */
@Entity({ tableName: 'ledger_entry' })
export class LedgerEntry {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid', unique: true })
  depositId!: string;

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'string', length: 4000 })
  userId!: string;

  @Property({ type: 'string', length: 20 })
  currency!: string;

  @Property({ type: ExactDecimalType })
  amount!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;
}

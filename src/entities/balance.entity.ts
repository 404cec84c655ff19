import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { ExactDecimalType } from './exact-decimal.type.js';

/**
 * A user's balance per currency: the sum of its ledger entries. Written only by Postgres, when an
 * entry is inserted (trigger `ledger_entry_post`); any other write is refused. May be negative
 * after a reversal (the debt is shown).
 */
@Entity({ tableName: 'balance' })
@Unique({ name: 'balance_owner_unique', properties: ['tenantId', 'userId', 'currency'] })
export class Balance {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'string', length: 4000 })
  userId!: string;

  @Property({ type: 'string', length: 20 })
  currency!: string;

  @Property({ type: ExactDecimalType })
  available!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  updatedAt!: Opt<Date>;
}

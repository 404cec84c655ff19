import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { ExactDecimalType } from './exact-decimal.type.js';

/**
 * One change to a balance: a deposit's credit, an operator's manual credit, or a reversal
 * (negative). Append-only. One credit and one reversal per deposit (unique indexes
 * `ledger_entry_one_credit`, `ledger_entry_one_reversal`): the exactly-once guarantee.
 * `balanceAfter` and `seq` are set by Postgres (trigger `ledger_entry_post`), which also adds
 * the entry to its balance; see migration 20261126152000.
 */
@Entity({ tableName: 'ledger_entry' })
export class LedgerEntry {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  depositId!: string;

  /** DEPOSIT, MANUAL_CREDIT or REVERSAL. */
  @Property({ type: 'text' })
  kind!: 'DEPOSIT' | 'MANUAL_CREDIT' | 'REVERSAL';

  /** The user's balance in this currency right after this entry. */
  @Property({ type: ExactDecimalType })
  balanceAfter!: Opt<string>;

  /** The entry's place in the ledger, taken under its balance's row lock (newest first = highest). */
  @Property({ type: 'bigint', unique: true })
  seq!: Opt<string>;

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

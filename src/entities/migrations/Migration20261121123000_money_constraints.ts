import { Migration } from '@mikro-orm/migrations';

/**
 * What the entities cannot say: the database itself refuses impossible money and
 * orphan credits.
 */
export class Migration20261121123000_money_constraints extends Migration {
  override name = 'Migration20261121123000_money_constraints';

  override up(): void {
    this.addSql(
      `alter table "deposit" add constraint "deposit_amount_positive" check ("amount" is null or "amount" > 0);`,
    );
    this.addSql(
      `alter table "deposit" add constraint "deposit_bounds_valid" check (("min_amount" is null or "min_amount" >= 0) and ("max_amount" is null or "min_amount" is null or "max_amount" >= "min_amount"));`,
    );
    this.addSql(`alter table "deposit" add constraint "deposit_currency_format" check ("currency" ~ '^[A-Z]{3,10}$');`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_amount_positive" check ("amount" > 0);`);
    this.addSql(
      `alter table "ledger_entry" add constraint "ledger_entry_deposit_id_foreign" foreign key ("deposit_id") references "deposit" ("id") on delete restrict;`,
    );
    this.addSql(`alter table "balance" add constraint "balance_non_negative" check ("available" >= 0);`);
  }

  override down(): void {
    this.addSql(`alter table "balance" drop constraint "balance_non_negative";`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_deposit_id_foreign";`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_amount_positive";`);
    this.addSql(`alter table "deposit" drop constraint "deposit_currency_format";`);
    this.addSql(`alter table "deposit" drop constraint "deposit_bounds_valid";`);
    this.addSql(`alter table "deposit" drop constraint "deposit_amount_positive";`);
  }
}

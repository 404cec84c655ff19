import { Migration } from '@mikro-orm/migrations';

const STATUSES_BEFORE = `'PENDING', 'DETECTED', 'CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'`;
const STATUSES = `${STATUSES_BEFORE}, 'REVERSED'`;

/** The status check constraints, by table and column. */
const STATUS_CHECKS = [
  ['deposit', 'deposit_status_check', 'status'],
  ['outbox', 'outbox_status_check', 'status'],
  ['outbox', 'outbox_previous_status_check', 'previous_status'],
  ['deposit_event', 'deposit_event_status_check', 'status'],
] as const;

/**
 * Operators resolve exception money, and the ledger (contract: "Operators resolve exception
 * money", "The ledger").
 *
 * - `REVERSED` joins the statuses.
 * - Every balance change is a `ledger_entry` with a `kind` (DEPOSIT, MANUAL_CREDIT, REVERSAL), a
 *   signed `amount` (credits positive, reversals negative) and the `balance_after` it left. One
 *   credit per deposit (DEPOSIT or MANUAL_CREDIT) and one reversal, by unique indexes.
 * - A balance is the sum of its entries, guaranteed by Postgres: inserting an entry is the only
 *   way to change a balance. A BEFORE INSERT trigger on `ledger_entry` adds the amount to the
 *   balance row (locking it), stamps `balance_after` and the entry's `seq` (taken under that
 *   lock, so a user's entries in `seq` order have increasing, consistent `balance_after`s);
 *   `balance` refuses any write that does not come from that trigger, and `ledger_entry` is
 *   append-only. Because the trigger runs before the unique check, writers never use
 *   `on conflict do nothing` on `ledger_entry`: a duplicate must abort the statement (and with
 *   it the balance change), and `ledger.store.ts` guards with `not exists` under the deposit's
 *   row lock instead.
 * - `balance_non_negative` goes: a REVERSAL may leave a debt, which is shown, not hidden. Only
 *   a REVERSAL can lower a balance (credits are positive by check), so a negative balance
 *   always comes from one.
 * - Existing credits become DEPOSIT entries, their `balance_after` a running sum in
 *   `created_at` order, and each balance is set to the sum of its entries.
 */
export class Migration20261126152000_ledger_and_resolutions extends Migration {
  override name = 'Migration20261126152000_ledger_and_resolutions';

  override up(): void {
    for (const [table, name, column] of STATUS_CHECKS) {
      this.addSql(`alter table "${table}" drop constraint "${name}";`);
      this.addSql(`alter table "${table}" add constraint "${name}" check ("${column}" in (${STATUSES}));`);
    }

    // The entries as they are: credits of deposits, balance_after by a running sum, seq in that order.
    this.addSql(
      `alter table "ledger_entry" add column "kind" text not null default 'DEPOSIT', add column "balance_after" numeric(36,18) null, add column "seq" bigint null;`,
    );
    this.addSql(`update "ledger_entry" e set "balance_after" = r."running", "seq" = r."n"
      from (select "id",
              sum("amount") over (partition by "tenant_id", "user_id", "currency" order by "created_at", "id") as "running",
              row_number() over (order by "created_at", "id") as "n"
            from "ledger_entry") r
      where e."id" = r."id";`);
    this.addSql(`create sequence "ledger_entry_seq_seq" owned by "ledger_entry"."seq";`);
    this.addSql(
      `select setval('ledger_entry_seq_seq', coalesce((select max("seq") from "ledger_entry"), 0) + 1, false);`,
    );
    this.addSql(
      `alter table "ledger_entry" alter column "kind" drop default, alter column "balance_after" set not null, alter column "seq" set not null;`,
    );
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_seq_unique" unique ("seq");`);
    this.addSql(
      `alter table "ledger_entry" add constraint "ledger_entry_kind_check" check ("kind" in ('DEPOSIT', 'MANUAL_CREDIT', 'REVERSAL'));`,
    );
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_amount_positive";`);
    this.addSql(
      `alter table "ledger_entry" add constraint "ledger_entry_amount_sign" check (case when "kind" = 'REVERSAL' then "amount" < 0 else "amount" > 0 end);`,
    );
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_deposit_id_unique";`);
    this.addSql(
      `create unique index "ledger_entry_one_credit" on "ledger_entry" ("deposit_id") where "kind" <> 'REVERSAL';`,
    );
    this.addSql(
      `create unique index "ledger_entry_one_reversal" on "ledger_entry" ("deposit_id") where "kind" = 'REVERSAL';`,
    );
    // A user's entries, newest first (ledgerEntries).
    this.addSql(`create index "ledger_entry_owner_idx" on "ledger_entry" ("tenant_id", "user_id", "seq");`);

    // Balances are what their entries sum to, from now on by construction.
    this.addSql(`alter table "balance" drop constraint "balance_non_negative";`);
    this.addSql(`update "balance" b set "available" = coalesce((select sum(e."amount") from "ledger_entry" e
      where e."tenant_id" = b."tenant_id" and e."user_id" = b."user_id" and e."currency" = b."currency"), 0);`);
    this.addSql(`insert into "balance" ("id", "tenant_id", "user_id", "currency", "available")
      select gen_random_uuid(), "tenant_id", "user_id", "currency", sum("amount") from "ledger_entry"
      group by "tenant_id", "user_id", "currency"
      on conflict ("tenant_id", "user_id", "currency") do nothing;`);

    this.addSql(`create function "ledger_entry_post"() returns trigger language plpgsql as $$
begin
  insert into "balance" ("id", "tenant_id", "user_id", "currency", "available", "updated_at")
    values (gen_random_uuid(), new."tenant_id", new."user_id", new."currency", new."amount", now())
    on conflict ("tenant_id", "user_id", "currency")
    do update set "available" = "balance"."available" + excluded."available", "updated_at" = now()
    returning "available" into new."balance_after";
  -- Taken while this transaction holds the balance row: a user's entries in seq order carry
  -- the balances they left, whatever the commit order of concurrent transactions.
  new."seq" := nextval('ledger_entry_seq_seq');
  return new;
end $$;`);
    this.addSql(
      `create trigger "ledger_entry_post" before insert on "ledger_entry" for each row execute function "ledger_entry_post"();`,
    );
    this.addSql(`create function "ledger_entry_append_only"() returns trigger language plpgsql as $$
begin
  raise exception 'ledger_entry is append-only: add an entry instead' using errcode = 'insufficient_privilege';
end $$;`);
    this.addSql(
      `create trigger "ledger_entry_append_only" before update or delete on "ledger_entry" for each row execute function "ledger_entry_append_only"();`,
    );
    this.addSql(
      `create trigger "ledger_entry_no_truncate" before truncate on "ledger_entry" for each statement execute function "ledger_entry_append_only"();`,
    );
    this.addSql(`create function "balance_written_by_ledger"() returns trigger language plpgsql as $$
begin
  -- Depth 1: a statement on balance itself; the ledger_entry trigger's upsert runs at depth 2.
  if pg_trigger_depth() < 2 then
    raise exception 'balance is written only by inserting into ledger_entry' using errcode = 'insufficient_privilege';
  end if;
  if tg_op = 'DELETE' then return old; end if;
  return new;
end $$;`);
    this.addSql(
      `create trigger "balance_written_by_ledger" before insert or update or delete on "balance" for each row execute function "balance_written_by_ledger"();`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger "balance_written_by_ledger" on "balance";`);
    this.addSql(`drop function "balance_written_by_ledger"();`);
    this.addSql(`drop trigger "ledger_entry_no_truncate" on "ledger_entry";`);
    this.addSql(`drop trigger "ledger_entry_append_only" on "ledger_entry";`);
    this.addSql(`drop function "ledger_entry_append_only"();`);
    this.addSql(`drop trigger "ledger_entry_post" on "ledger_entry";`);
    this.addSql(`drop function "ledger_entry_post"();`);
    // Reversals and manual credits have no place in the old shape; their deposits keep their status.
    this.addSql(`delete from "ledger_entry" where "kind" <> 'DEPOSIT';`);
    this.addSql(`update "balance" b set "available" = coalesce((select sum(e."amount") from "ledger_entry" e
      where e."tenant_id" = b."tenant_id" and e."user_id" = b."user_id" and e."currency" = b."currency"), 0);`);
    this.addSql(`alter table "balance" add constraint "balance_non_negative" check ("available" >= 0);`);
    this.addSql(`drop index "ledger_entry_owner_idx";`);
    this.addSql(`drop index "ledger_entry_one_reversal";`);
    this.addSql(`drop index "ledger_entry_one_credit";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_deposit_id_unique" unique ("deposit_id");`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_amount_sign";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_amount_positive" check ("amount" > 0);`);
    this.addSql(`alter table "ledger_entry" drop column "seq", drop column "balance_after", drop column "kind";`);
    this.addSql(`update "deposit" set "status" = 'COMPLETED' where "status" = 'REVERSED';`);
    this.addSql(`update "outbox" set "status" = 'COMPLETED' where "status" = 'REVERSED';`);
    this.addSql(`update "outbox" set "previous_status" = 'COMPLETED' where "previous_status" = 'REVERSED';`);
    this.addSql(`update "deposit_event" set "status" = 'COMPLETED' where "status" = 'REVERSED';`);
    for (const [table, name, column] of STATUS_CHECKS) {
      this.addSql(`alter table "${table}" drop constraint "${name}";`);
      this.addSql(`alter table "${table}" add constraint "${name}" check ("${column}" in (${STATUSES_BEFORE}));`);
    }
  }
}

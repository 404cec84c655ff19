import { Migration } from '@mikro-orm/migrations';

/**
 * Status sync (contract: "Recovering deposits"): an inbox row says whether a provider
 * delivered it or answered our status request; the sandbox keeps what was paid (its status
 * API reads it back); and the automatic sync keeps its schedule in the database, so that it
 * survives restarts and any number of sidecars share it (`deposit_sync`, claimed with
 * `for update skip locked`).
 */
export class Migration20261126150000_status_sync extends Migration {
  override name = 'Migration20261126150000_status_sync';

  override up(): void {
    this.addSql(`alter table "webhook_inbox" add column "source" text not null default 'WEBHOOK';`);
    this.addSql(
      `alter table "webhook_inbox" add constraint "webhook_inbox_source_check" check ("source" in ('WEBHOOK', 'SYNC'));`,
    );
    this.addSql(`create table "sandbox_payment" (
      "deposit_id" uuid primary key references "deposit" ("id") on delete cascade,
      "amount" numeric(38, 18) null check ("amount" > 0),
      "currency" varchar(20) null,
      "status" text not null check ("status" in ('PAID', 'FAILED')),
      "paid_at" timestamptz not null default now());`);
    this.addSql(`create table "deposit_sync" (
      "deposit_id" uuid primary key references "deposit" ("id") on delete cascade,
      "provider" varchar(32) not null,
      "next_sync_at" timestamptz not null,
      "interval_seconds" integer not null check ("interval_seconds" > 0),
      "attempts" integer not null default 0,
      "give_up_at" timestamptz not null,
      "last_outcome" text null,
      "last_synced_at" timestamptz null,
      "done" boolean not null default false);`);
    // The claim reads one provider's due rows in next_sync_at order among the open ones only:
    // done rows (final deposits, given up) leave the index, so it stays the size of the open work.
    this.addSql(`create index "deposit_sync_due_idx" on "deposit_sync" ("provider", "next_sync_at") where not "done";`);
    // Deposits made before this migration join the schedule with the default settings
    // (SYNC_AFTER_SECONDS 300, SYNC_GIVE_UP_SECONDS 86400); new ones are enrolled as they are made.
    this.addSql(`insert into "deposit_sync" ("deposit_id", "provider", "next_sync_at", "interval_seconds", "give_up_at")
      select "id", "provider", greatest(now(), "created_at" + interval '300 seconds'), 300, "expires_at" + interval '86400 seconds'
      from "deposit"
      where "provider" in ('sandbox', 'instap', 'finrax')
        and ("status" not in ('COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED') or ("status" = 'EXPIRED' and "received_amount" is null))
        and "expires_at" + interval '86400 seconds' > now();`);
  }

  override down(): void {
    this.addSql(`drop table if exists "deposit_sync";`);
    this.addSql(`drop table if exists "sandbox_payment";`);
    this.addSql(`alter table "webhook_inbox" drop column "source";`);
  }
}

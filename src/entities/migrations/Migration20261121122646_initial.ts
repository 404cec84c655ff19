import { Migration } from '@mikro-orm/migrations';

export class Migration20261121122646_initial extends Migration {
  override name = 'Migration20261121122646_initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "app_secret" ("name" varchar(64) not null, "value" text not null, "created_at" timestamptz not null default current_timestamp, primary key ("name"));`,
    );

    this.addSql(
      `create table "balance" ("id" uuid not null, "tenant_id" uuid not null, "user_id" varchar(4000) not null, "currency" varchar(20) not null, "available" numeric(36,18) not null, "updated_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(
      `alter table "balance" add constraint "balance_owner_unique" unique ("tenant_id", "user_id", "currency");`,
    );

    this.addSql(
      `create table "idempotency_key" ("id" uuid not null, "tenant_id" uuid not null, "key" varchar(255) not null, "request_hash" varchar(64) not null, "deposit_id" uuid not null, "created_at" timestamptz not null default current_timestamp, "expires_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "idempotency_key_expires_idx" on "idempotency_key" ("expires_at");`);
    this.addSql(`alter table "idempotency_key" add constraint "idempotency_key_unique" unique ("tenant_id", "key");`);

    this.addSql(
      `create table "ledger_entry" ("id" uuid not null, "deposit_id" uuid not null, "tenant_id" uuid not null, "user_id" varchar(4000) not null, "currency" varchar(20) not null, "amount" numeric(36,18) not null, "created_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_deposit_id_unique" unique ("deposit_id");`);

    this.addSql(
      `create table "outbox" ("id" bigserial primary key, "seq" bigint null, "tenant_id" uuid not null, "deposit_id" uuid not null, "user_id" varchar(4000) not null, "status" text not null, "previous_status" text null, "occurred_at" timestamptz not null default current_timestamp, "published_at" timestamptz null);`,
    );
    this.addSql(`alter table "outbox" add constraint "outbox_seq_unique" unique ("seq");`);
    this.addSql(`create index "outbox_deposit_seq_idx" on "outbox" ("deposit_id", "seq");`);
    this.addSql(`create index "outbox_tenant_seq_idx" on "outbox" ("tenant_id", "seq");`);
    this.addSql(
      `create index "outbox_unpublished_idx" on "outbox" ("seq") where "published_at" is null and "seq" is not null;`,
    );
    this.addSql(`create index "outbox_unsequenced_idx" on "outbox" ("id") where "seq" is null;`);

    this.addSql(
      `create table "tenant" ("id" uuid not null, "name" varchar(200) not null, "hmac_secret" text null, "created_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(`alter table "tenant" add constraint "tenant_name_unique" unique ("name");`);

    this.addSql(
      `create table "deposit" ("id" uuid not null, "tenant_id" uuid not null, "user_id" varchar(4000) not null, "provider" varchar(32) not null, "currency" varchar(10) not null, "amount" numeric(36,18) null, "min_amount" numeric(36,18) null, "max_amount" numeric(36,18) null, "received_amount" numeric(36,18) null, "received_currency" varchar(20) null, "payment_state" text null, "status" text not null, "rejection_reason" text null, "checkout_url" text null, "redirect_url" text null, "provider_ref" varchar(255) null, "expires_at" timestamptz not null, "created_at" timestamptz not null default current_timestamp, "updated_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(`create index "deposit_pending_expiry_idx" on "deposit" ("expires_at") where "status" = 'PENDING';`);
    this.addSql(
      `create index "deposit_tenant_user_created_idx" on "deposit" ("tenant_id", "user_id", "created_at", "id");`,
    );
    this.addSql(`create index "deposit_tenant_created_idx" on "deposit" ("tenant_id", "created_at", "id");`);
    this.addSql(
      `alter table "deposit" add constraint "deposit_provider_ref_unique" unique ("provider", "provider_ref");`,
    );

    this.addSql(
      `create table "deposit_event" ("id" uuid not null, "deposit_id" uuid not null, "inbox_id" bigint not null, "status" text not null, "provider_status" varchar(100) not null, "amount" numeric(36,18) null, "currency" varchar(20) null, "tx_hash" varchar(200) null, "network" varchar(100) null, "fee" numeric(36,18) null, "occurred_at" timestamptz not null, "received_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(`alter table "deposit_event" add constraint "deposit_event_inbox_id_unique" unique ("inbox_id");`);
    this.addSql(
      `create index "deposit_event_deposit_idx" on "deposit_event" ("deposit_id", "occurred_at", "received_at");`,
    );

    this.addSql(
      `create table "api_key" ("id" uuid not null, "tenant_id" uuid not null, "key_hash" varchar(64) not null, "created_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(`alter table "api_key" add constraint "api_key_key_hash_unique" unique ("key_hash");`);

    this.addSql(
      `create table "user_verification" ("user_id" varchar(4000) not null, "status" text not null, "provider_status" varchar(100) not null, "occurred_at" timestamptz not null, primary key ("user_id"));`,
    );

    this.addSql(
      `create table "wallet_balance" ("id" uuid not null, "provider" varchar(32) not null, "address" varchar(200) not null, "asset" varchar(20) not null, "available" numeric(36,18) not null, "blockchain" numeric(36,18) not null, "reserved" numeric(36,18) not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "wallet_balance" add constraint "wallet_balance_unique" unique ("provider", "address", "asset");`,
    );

    this.addSql(
      `create table "webhook_inbox" ("id" bigserial primary key, "provider" varchar(32) not null, "dedupe_key" varchar(255) not null, "headers" jsonb not null, "body" text not null, "received_at" timestamptz not null default current_timestamp, "processed_at" timestamptz null, "outcome" varchar(16) null, "deposit_id" uuid null, "error" text null, "attempts" int not null default 0);`,
    );
    this.addSql(`create index "webhook_inbox_provider_received_idx" on "webhook_inbox" ("provider", "received_at");`);
    this.addSql(`create index "webhook_inbox_unprocessed_idx" on "webhook_inbox" ("id") where "processed_at" is null;`);
    this.addSql(
      `alter table "webhook_inbox" add constraint "webhook_inbox_dedupe_unique" unique ("provider", "dedupe_key");`,
    );

    this.addSql(
      `alter table "outbox" add constraint "outbox_status_check" check ("status" in ('PENDING', 'DETECTED', 'CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'));`,
    );
    this.addSql(
      `alter table "outbox" add constraint "outbox_previous_status_check" check ("previous_status" in ('PENDING', 'DETECTED', 'CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'));`,
    );

    this.addSql(
      `alter table "deposit" add constraint "deposit_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deposit" add constraint "deposit_payment_state_check" check ("payment_state" in ('CORRECT', 'UNDERPAID', 'OVERPAID'));`,
    );
    this.addSql(
      `alter table "deposit" add constraint "deposit_status_check" check ("status" in ('PENDING', 'DETECTED', 'CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'));`,
    );
    this.addSql(
      `alter table "deposit" add constraint "deposit_rejection_reason_check" check ("rejection_reason" in ('UNDERPAID', 'CURRENCY_MISMATCH', 'LATE_PAYMENT'));`,
    );

    this.addSql(
      `alter table "deposit_event" add constraint "deposit_event_deposit_id_foreign" foreign key ("deposit_id") references "deposit" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "deposit_event" add constraint "deposit_event_status_check" check ("status" in ('PENDING', 'DETECTED', 'CONFIRMING', 'CONFIRMED', 'SCREENING', 'COMPLETED', 'REJECTED', 'EXPIRED', 'FAILED'));`,
    );

    this.addSql(
      `alter table "api_key" add constraint "api_key_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "user_verification" add constraint "user_verification_status_check" check ("status" in ('UNVERIFIED', 'PENDING', 'VERIFIED', 'REJECTED', 'RETRY'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "deposit" drop constraint "deposit_tenant_id_foreign";`);
    this.addSql(`alter table "api_key" drop constraint "api_key_tenant_id_foreign";`);
    this.addSql(`alter table "deposit_event" drop constraint "deposit_event_deposit_id_foreign";`);

    this.addSql(`drop table if exists "app_secret" cascade;`);
    this.addSql(`drop table if exists "balance" cascade;`);
    this.addSql(`drop table if exists "idempotency_key" cascade;`);
    this.addSql(`drop table if exists "ledger_entry" cascade;`);
    this.addSql(`drop table if exists "outbox" cascade;`);
    this.addSql(`drop table if exists "tenant" cascade;`);
    this.addSql(`drop table if exists "deposit" cascade;`);
    this.addSql(`drop table if exists "deposit_event" cascade;`);
    this.addSql(`drop table if exists "api_key" cascade;`);
    this.addSql(`drop table if exists "user_verification" cascade;`);
    this.addSql(`drop table if exists "wallet_balance" cascade;`);
    this.addSql(`drop table if exists "webhook_inbox" cascade;`);
  }
}

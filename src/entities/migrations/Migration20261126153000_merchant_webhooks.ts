import { Migration } from '@mikro-orm/migrations';

/**
 * Merchant notifications (contract: "Merchant notifications: signed webhooks to the
 * tenant's endpoints"): a tenant's endpoints with the secrets that sign for them, and
 * the durable delivery queue the outbox store fills in the transaction of each status
 * change (one row per change and enabled endpoint) and the sidecars' dispatchers claim.
 *
 * `secret` is kept as written: the gateway signs with it, so it cannot be hashed. It is
 * never returned after creation or rotation and never logged.
 */
export class Migration20261126153000_merchant_webhooks extends Migration {
  override name = 'Migration20261126153000_merchant_webhooks';

  override up(): void {
    this.addSql(
      `create table "webhook_endpoint" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "url" varchar(2000) not null, "description" varchar(500) null, "enabled" boolean not null default true, "disabled_reason" varchar(500) null, "secret" text not null, "previous_secret" text null, "previous_secret_expires_at" timestamptz null, "failing_since" timestamptz null, "created_at" timestamptz not null default current_timestamp, "updated_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(
      `alter table "webhook_endpoint" add constraint "webhook_endpoint_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on delete cascade;`,
    );
    // The fan-out joins every new outbox row to this: near free for a tenant without endpoints.
    this.addSql(`create index "webhook_endpoint_enabled_idx" on "webhook_endpoint" ("tenant_id") where "enabled";`);
    this.addSql(`create index "webhook_endpoint_tenant_idx" on "webhook_endpoint" ("tenant_id", "created_at");`);

    this.addSql(
      `create table "webhook_delivery" ("id" uuid not null default gen_random_uuid(), "tenant_id" uuid not null, "endpoint_id" uuid not null, "outbox_id" bigint not null, "event_type" varchar(100) not null default 'deposit.status_changed', "status" text not null default 'PENDING', "attempts" int not null default 0, "next_attempt_at" timestamptz null default current_timestamp, "last_attempt_at" timestamptz null, "last_response_status" int null, "last_error" varchar(200) null, "claimed_until" timestamptz null, "created_at" timestamptz not null default current_timestamp, primary key ("id"));`,
    );
    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_status_check" check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED'));`,
    );
    // One delivery per change and endpoint, whoever fans out and however often.
    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_outbox_unique" unique ("endpoint_id", "outbox_id");`,
    );
    // Deleting an endpoint drops its deliveries, pending ones included.
    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoint" ("id") on delete cascade;`,
    );
    // What the dispatchers claim: due deliveries per endpoint, oldest due first.
    this.addSql(
      `create index "webhook_delivery_due_idx" on "webhook_delivery" ("endpoint_id", "next_attempt_at") where "status" = 'PENDING';`,
    );
    // The delivery log, newest first per endpoint.
    this.addSql(
      `create index "webhook_delivery_log_idx" on "webhook_delivery" ("endpoint_id", "created_at" desc, "id" desc);`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "webhook_delivery" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);
  }
}

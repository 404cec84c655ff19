import { Migration } from '@mikro-orm/migrations';
import { NEEDS_ATTENTION_SQL } from '../../domain/audit.js';

/**
 * The audit trail and the operator's inbox (contract: "Where an event came from",
 * "Operators resolve exception money"): every timeline event says where it came from
 * (existing ones were all webhooks) and, for an operator's, who acted and why; events
 * that no inbox row delivered (an operator's, the sweeper's) have no `inbox_id`. A
 * deposit carries its resolution and whether it needs an operator, computed by Postgres.
 */
export class Migration20261126140000_audit_trail extends Migration {
  override name = 'Migration20261126140000_audit_trail';

  override up(): void {
    this.addSql(`alter table "deposit_event" alter column "inbox_id" drop not null;`);
    this.addSql(
      `alter table "deposit_event" add column "source" text not null default 'WEBHOOK', add column "actor" varchar(200) null, add column "reason" varchar(500) null, add column "reference" varchar(200) null;`,
    );
    this.addSql(
      `alter table "deposit_event" add constraint "deposit_event_source_check" check ("source" in ('WEBHOOK', 'SYNC', 'OPERATOR', 'SYSTEM'));`,
    );
    this.addSql(
      `alter table "deposit" add column "resolution" text null, add column "amount_unreported" boolean not null default false;`,
    );
    this.addSql(
      `alter table "deposit" add constraint "deposit_resolution_check" check ("resolution" in ('CREDITED_MANUALLY', 'REFUNDED', 'REVERSED'));`,
    );
    this.addSql(
      `alter table "deposit" add column "needs_attention" boolean generated always as (coalesce(${NEEDS_ATTENTION_SQL}, false)) stored;`,
    );
    // The operator's inbox, newest first per tenant; small, since most deposits never need anyone.
    this.addSql(
      `create index "deposit_attention_idx" on "deposit" ("tenant_id", "created_at", "id") where "needs_attention";`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "deposit_attention_idx";`);
    this.addSql(
      `alter table "deposit" drop column "needs_attention", drop column "amount_unreported", drop column "resolution";`,
    );
    this.addSql(
      `alter table "deposit_event" drop column "reference", drop column "reason", drop column "actor", drop column "source";`,
    );
    this.addSql(`delete from "deposit_event" where "inbox_id" is null;`);
    this.addSql(`alter table "deposit_event" alter column "inbox_id" set not null;`);
  }
}

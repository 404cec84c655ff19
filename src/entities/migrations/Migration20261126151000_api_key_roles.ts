import { Migration } from '@mikro-orm/migrations';

/**
 * Roles and labels on API keys (contract: "API keys and roles"): keys that existed before are
 * `APP` keys labelled `legacy`; the one BOOTSTRAP_API_KEY added is relabelled `bootstrap` at the
 * next start (the migration cannot know which it is). `last_used_at` is written at most once a
 * minute per key; `revoked_at` refuses a key for good (rows are kept: the audit trail names them).
 */
export class Migration20261126151000_api_key_roles extends Migration {
  override name = 'Migration20261126151000_api_key_roles';

  override up(): void {
    this.addSql(
      `alter table "api_key" add column "role" text not null default 'APP', add column "label" varchar(100) not null default 'legacy', add column "last_used_at" timestamptz null, add column "revoked_at" timestamptz null;`,
    );
    this.addSql(`alter table "api_key" add constraint "api_key_role_check" check ("role" in ('APP', 'OPERATOR'));`);
    // New keys name their label; the default was only for the rows that existed.
    this.addSql(`alter table "api_key" alter column "label" drop default;`);
    this.addSql(`create index "api_key_tenant_idx" on "api_key" ("tenant_id", "created_at");`);
  }

  override down(): void {
    this.addSql(`drop index if exists "api_key_tenant_idx";`);
    this.addSql(
      `alter table "api_key" drop column "revoked_at", drop column "last_used_at", drop column "label", drop column "role";`,
    );
  }
}

import type { Constructor } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { Migration20261121122646_initial } from './Migration20261121122646_initial.js';
import { Migration20261121123000_money_constraints } from './Migration20261121123000_money_constraints.js';
import { Migration20261126140000_audit_trail } from './Migration20261126140000_audit_trail.js';
import { Migration20261126150000_status_sync } from './Migration20261126150000_status_sync.js';
import { Migration20261126151000_api_key_roles } from './Migration20261126151000_api_key_roles.js';
import { Migration20261126152000_ledger_and_resolutions } from './Migration20261126152000_ledger_and_resolutions.js';
import { Migration20261126153000_merchant_webhooks } from './Migration20261126153000_merchant_webhooks.js';

/** Every migration, in order. Listed explicitly: no folder globbing at start. */
export const MIGRATIONS: { name: string; class: Constructor<Migration> }[] = [
  { name: 'Migration20261121122646_initial', class: Migration20261121122646_initial },
  { name: 'Migration20261121123000_money_constraints', class: Migration20261121123000_money_constraints },
  { name: 'Migration20261126140000_audit_trail', class: Migration20261126140000_audit_trail },
  { name: 'Migration20261126150000_status_sync', class: Migration20261126150000_status_sync },
  { name: 'Migration20261126151000_api_key_roles', class: Migration20261126151000_api_key_roles },
  {
    name: 'Migration20261126152000_ledger_and_resolutions',
    class: Migration20261126152000_ledger_and_resolutions,
  },
  { name: 'Migration20261126153000_merchant_webhooks', class: Migration20261126153000_merchant_webhooks },
];

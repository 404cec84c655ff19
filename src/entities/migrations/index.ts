import type { Constructor } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { Migration20261121122646_initial } from './Migration20261121122646_initial.js';
import { Migration20261121123000_money_constraints } from './Migration20261121123000_money_constraints.js';
import { Migration20261126140000_audit_trail } from './Migration20261126140000_audit_trail.js';

/** Every migration, in order. Listed explicitly: no folder globbing at start. */
export const MIGRATIONS: { name: string; class: Constructor<Migration> }[] = [
  { name: 'Migration20261121122646_initial', class: Migration20261121122646_initial },
  { name: 'Migration20261121123000_money_constraints', class: Migration20261121123000_money_constraints },
  { name: 'Migration20261126140000_audit_trail', class: Migration20261126140000_audit_trail },
];

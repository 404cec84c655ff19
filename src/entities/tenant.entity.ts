import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** An app that uses the gateway. Everything an API key reaches is scoped to its tenant. */
@Entity({ tableName: 'tenant' })
export class Tenant {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 200, unique: true })
  name!: string;

  /** Raw UTF-8 HMAC key for `x-payload-hash`; never logged or returned by the API. */
  @Property({ type: 'text', nullable: true, hidden: true })
  hmacSecret?: string | null;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;
}

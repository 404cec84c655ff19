import { type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * Secrets the processes must share and nobody configured: the client-token
 * signing key, and the development sandbox webhook secret. Generated once,
 * first writer wins, so every gateway and sidecar on this database agrees.
 */
@Entity({ tableName: 'app_secret' })
export class AppSecret {
  @PrimaryKey({ type: 'string', length: 64 })
  name!: string;

  @Property({ type: 'text', hidden: true })
  value!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;
}

import { type Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { API_KEY_LABEL_MAX, type ApiKeyRole } from '../domain/api-key-role.js';
import { Tenant } from './tenant.entity.js';

/** A tenant's API key, kept only as its SHA-256 (keys are long random strings, so no slow hash is needed). */
@Entity({ tableName: 'api_key' })
export class ApiKey {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @Property({ type: 'string', length: 64, unique: true })
  keyHash!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;

  /** `APP` or `OPERATOR` (`domain/api-key-role.ts`); keys older than roles are `APP`. */
  @Property({ type: 'text', default: 'APP' })
  role!: Opt<ApiKeyRole>;

  @Property({ type: 'string', length: API_KEY_LABEL_MAX })
  label!: string;

  /** Written at most once a minute per key, off the request's path. */
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt?: Date | null;

  /** Set once: from then on the key is refused (UNAUTHENTICATED). */
  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;
}

import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { ExactDecimalType } from './exact-decimal.type.js';

/** A provider's own report of an address's funds (layer1 balance:updated). */
@Entity({ tableName: 'wallet_balance' })
@Unique({ name: 'wallet_balance_unique', properties: ['provider', 'address', 'asset'] })
export class WalletBalance {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'string', length: 32 })
  provider!: string;

  @Property({ type: 'string', length: 200 })
  address!: string;

  @Property({ type: 'string', length: 20 })
  asset!: string;

  @Property({ type: ExactDecimalType })
  available!: string;

  @Property({ type: ExactDecimalType })
  blockchain!: string;

  @Property({ type: ExactDecimalType })
  reserved!: string;

  /** The provider's timestamp of the report: an older report never overwrites a newer one. */
  @Property({ type: 'datetime' })
  updatedAt!: Date;
}

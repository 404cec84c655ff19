import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { VerificationStatus } from '../domain/deposit-status.js';

/** A user's latest identity verification (depasify identification_*), for that user id in every tenant. */
@Entity({ tableName: 'user_verification' })
export class UserVerification {
  @PrimaryKey({ type: 'string', length: 4000 })
  userId!: string;

  @Enum({ items: () => VerificationStatus })
  status!: VerificationStatus;

  @Property({ type: 'string', length: 100 })
  providerStatus!: string;

  /** The provider's time of the event: an older event never overwrites a newer one. */
  @Property({ type: 'datetime' })
  occurredAt!: Date;
}

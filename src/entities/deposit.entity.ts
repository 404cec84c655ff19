import { type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { NEEDS_ATTENTION_SQL, Resolution } from '../domain/audit.js';
import { DepositStatus, PaymentState, RejectionReason } from '../domain/deposit-status.js';
import { ExactDecimalType } from './exact-decimal.type.js';
import { Tenant } from './tenant.entity.js';

@Entity({ tableName: 'deposit' })
@Index({ name: 'deposit_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
@Index({ name: 'deposit_tenant_user_created_idx', properties: ['tenant', 'userId', 'createdAt', 'id'] })
@Index({
  name: 'deposit_pending_expiry_idx',
  // The expiry sweeper's candidates (`domain/apply-rules.ts` EXPIRES_FROM).
  expression: `create index "deposit_pending_expiry_idx" on "deposit" ("expires_at") where "status" = '${DepositStatus.PENDING}'`,
})
@Unique({ name: 'deposit_provider_ref_unique', properties: ['provider', 'providerRef'] })
export class Deposit {
  /** The UUID made at creation; providers carry it back as their reference. */
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @Property({ type: 'string', length: 4000 })
  userId!: string;

  @Property({ type: 'string', length: 32 })
  provider!: string;

  @Property({ type: 'string', length: 10 })
  currency!: string;

  @Property({ type: ExactDecimalType, nullable: true })
  amount?: string | null;

  @Property({ type: ExactDecimalType, nullable: true })
  minAmount?: string | null;

  @Property({ type: ExactDecimalType, nullable: true })
  maxAmount?: string | null;

  @Property({ type: ExactDecimalType, nullable: true })
  receivedAmount?: string | null;

  @Property({ type: 'string', length: 20, nullable: true })
  receivedCurrency?: string | null;

  @Enum({ items: () => PaymentState, nullable: true })
  paymentState?: PaymentState | null;

  @Enum({ items: () => DepositStatus })
  status!: DepositStatus;

  @Enum({ items: () => RejectionReason, nullable: true })
  rejectionReason?: RejectionReason | null;

  @Property({ type: 'text', nullable: true })
  checkoutUrl?: string | null;

  @Property({ type: 'text', nullable: true })
  redirectUrl?: string | null;

  /** The provider's own id for this payment (instap sessionToken, finrax paymentId). */
  @Property({ type: 'string', length: 255, nullable: true })
  providerRef?: string | null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** How an operator settled it, if one did (`resolveDeposit`). */
  @Enum({ items: () => Resolution, nullable: true })
  resolution?: Resolution | null;

  /** A status sync saw the payment completed but nobody reported an amount: nothing was credited. */
  @Property({ type: 'boolean', default: false })
  amountUnreported!: Opt<boolean>;

  /** Computed by Postgres (domain/audit.ts `NEEDS_ATTENTION_SQL`); the operator's inbox. */
  @Property({ type: 'boolean', generated: `(coalesce(${NEEDS_ATTENTION_SQL}, false)) stored` })
  needsAttention!: Opt<boolean>;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  createdAt!: Opt<Date>;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  updatedAt!: Opt<Date>;
}

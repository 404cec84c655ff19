import type { DepositStatus } from '../domain/deposit-status.js';
import { BadUserInputError } from './errors.js';

/**
 * A published status change: the outbox row plus the deposit as it stands at
 * publish time. The relay publishes exactly what a replay reads back, so a
 * subscriber cannot tell live from replayed (and dedupes on `seq`).
 */
export interface DepositView {
  id: string;
  userId: string;
  provider: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
  receivedAmount: string | null;
  receivedCurrency: string | null;
  paymentState: string | null;
  status: DepositStatus;
  rejectionReason: string | null;
  checkoutUrl: string | null;
  redirectUrl: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface StatusMessage {
  seq: string;
  tenantId: string;
  depositId: string;
  userId: string;
  status: DepositStatus;
  previousStatus: DepositStatus | null;
  occurredAt: string;
  deposit: DepositView;
}

/** Columns of `outbox o join deposit d`; both the relay and the replay select exactly these. */
export const STATUS_CHANGE_COLUMNS = `o.seq, o.tenant_id, o.deposit_id, o.user_id, o.status as change_status, o.previous_status, o.occurred_at,
  d.provider, d.currency, d.amount, d.min_amount, d.max_amount, d.received_amount, d.received_currency, d.payment_state,
  d.status, d.rejection_reason, d.checkout_url, d.redirect_url, d.expires_at, d.created_at, d.updated_at`;

type Row = Record<string, unknown>;

const iso = (v: unknown) => new Date(v as string | Date).toISOString();
const str = (v: unknown) => (v == null ? null : String(v));

export function rowToMessage(r: Row): StatusMessage {
  return {
    seq: String(r.seq),
    tenantId: String(r.tenant_id),
    depositId: String(r.deposit_id),
    userId: String(r.user_id),
    status: r.change_status as DepositStatus,
    previousStatus: (r.previous_status as DepositStatus | null) ?? null,
    occurredAt: iso(r.occurred_at),
    deposit: {
      id: String(r.deposit_id),
      userId: String(r.user_id),
      provider: String(r.provider),
      currency: String(r.currency),
      amount: str(r.amount),
      minAmount: str(r.min_amount),
      maxAmount: str(r.max_amount),
      receivedAmount: str(r.received_amount),
      receivedCurrency: str(r.received_currency),
      paymentState: str(r.payment_state),
      status: r.status as DepositStatus,
      rejectionReason: str(r.rejection_reason),
      checkoutUrl: str(r.checkout_url),
      redirectUrl: str(r.redirect_url),
      expiresAt: iso(r.expires_at),
      createdAt: iso(r.created_at),
      updatedAt: iso(r.updated_at),
    },
  };
}

export function encodeStatusCursor(seq: string): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeStatusCursor(cursor: string): bigint {
  const m = /^seq:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new BadUserInputError('after', 'is not a cursor returned by depositStatusChanged');
  return BigInt(m[1]);
}

import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import type { Orm } from '../db/orm.js';
import {
  DepositStatus,
  VerificationStatus,
  type PaymentState,
  type RejectionReason,
} from '../domain/deposit-status.js';
import { canonical } from '../domain/money.js';
import { Balance, Deposit, DepositEvent, UserVerification, WalletBalance } from '../entities/index.js';
import type { IntentStore } from '../bus/intent-store.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isProviderName, type StartPaymentRequest, type StartPaymentResult } from '../webhooks/providers/provider.js';
import type { ProviderRegistry } from '../webhooks/providers/registry.js';
import { ClientTokens } from './client-token.js';
import { sha256Hex } from './crypto.js';
import { parseCreateDepositInput, type CreateDepositInput, type CreateDepositRawInput } from './deposit-input.js';
import {
  AppError,
  BadUserInputError,
  IdempotencyKeyReusedError,
  ProviderNotConfiguredError,
  ProviderUnavailableError,
  UnknownProviderError,
  UserNotVerifiedError,
} from './errors.js';

export interface DepositServiceDeps {
  orm: Orm;
  /** The pool MikroORM manages: createDeposit without an Idempotency-Key speaks SQL to it directly. */
  pool: pg.Pool;
  intents: IntentStore;
  providers: ProviderRegistry;
  clientTokens: ClientTokens;
  logger: Logger;
  metrics?: Metrics;
  depositTtlSeconds: number;
  idempotencyTtlHours: number;
  providerTimeoutMs: number;
  /** The provider of a createDeposit that names none (config `defaultProvider`); absent: it must name one. */
  defaultProvider?: string;
}

/** A deposit as the API shows it (the entity without its tenant relation). */
export type DepositRecord = Omit<Deposit, 'tenant'>;

export interface CreatedDeposit {
  deposit: DepositRecord;
  clientToken: string;
}

export interface DepositPage {
  nodes: Deposit[];
  hasNextPage: boolean;
}

export const MAX_PAGE_SIZE = 100;

const INSERT_DEPOSIT = `insert into deposit (id, tenant_id, user_id, provider, currency, amount, min_amount, max_amount, status,
    checkout_url, redirect_url, provider_ref, expires_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, $11, now() + make_interval(secs => $12)) returning *`;
/** The same statement with MikroORM's placeholders, for the transaction of an Idempotency-Key. */
const INSERT_DEPOSIT_ORM = INSERT_DEPOSIT.replace(/\$\d+/g, '?');

interface DepositRow {
  id: string;
  user_id: string;
  provider: string;
  currency: string;
  amount: string | null;
  min_amount: string | null;
  max_amount: string | null;
  received_amount: string | null;
  received_currency: string | null;
  payment_state: PaymentState | null;
  status: DepositStatus;
  rejection_reason: RejectionReason | null;
  checkout_url: string | null;
  redirect_url: string | null;
  provider_ref: string | null;
  /** Timestamps come as Postgres prints them (MikroORM's type parsers on this pool): `new Date` reads that. */
  expires_at: string;
  created_at: string;
  updated_at: string;
}

const decimal = (v: string | null): string | null => (v == null ? null : canonical(v));

/** The row as the entity would read it (amounts canonical, as ExactDecimalType gives them). */
function depositFromRow(r: DepositRow): DepositRecord {
  return {
    id: r.id,
    userId: r.user_id,
    provider: r.provider,
    currency: r.currency,
    amount: decimal(r.amount),
    minAmount: decimal(r.min_amount),
    maxAmount: decimal(r.max_amount),
    receivedAmount: decimal(r.received_amount),
    receivedCurrency: r.received_currency,
    paymentState: r.payment_state,
    status: r.status,
    rejectionReason: r.rejection_reason,
    checkoutUrl: r.checkout_url,
    redirectUrl: r.redirect_url,
    providerRef: r.provider_ref,
    expiresAt: new Date(r.expires_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** Creating deposits and reading them back, scoped to a tenant. */
export class DepositService {
  constructor(private readonly d: DepositServiceDeps) {}

  /**
   * createDeposit: validate, honour the Idempotency-Key, write the Redis intent, store the
   * deposit PENDING, ask the provider for a payment. All in one transaction: a provider that
   * errs or times out leaves no deposit (and no idempotency key) behind.
   */
  async create(tenantId: string, raw: CreateDepositRawInput, idempotencyKey?: string): Promise<CreatedDeposit> {
    const input = parseCreateDepositInput(raw, this.d.defaultProvider);
    if (idempotencyKey !== undefined && (idempotencyKey.length < 1 || idempotencyKey.length > 255)) {
      throw new BadUserInputError('Idempotency-Key', 'must be 1 to 255 characters');
    }
    if (!isProviderName(input.provider)) throw new UnknownProviderError(input.provider);
    const starter = this.d.providers.starter(input.provider);
    if ('missing' in starter) throw new ProviderNotConfiguredError(input.provider, starter.missing);

    const id = randomUUID();
    const request: StartPaymentRequest = {
      depositId: id,
      userId: input.userId,
      userName: input.userName,
      userEmail: input.userEmail ?? undefined,
      language: input.language ?? undefined,
      currency: input.currency,
      amount: input.amount ?? undefined,
      minAmount: input.minAmount ?? undefined,
      maxAmount: input.maxAmount ?? undefined,
      redirectUrl: input.redirectUrl ?? undefined,
    };
    const refusal = starter.validate?.(request);
    if (refusal) throw new BadUserInputError(refusal.field, refusal.message);
    await this.assertNotRejected(input.userId);

    // Intent and provider first, then the deposit in one statement. Without a key there is
    // nothing to coordinate, so no transaction either (and no ORM: the hot path's two
    // statements go to the pool as prepared statements); with one, the key and the deposit
    // commit together (and a concurrent request with the key waits for them).
    const make = async (executor?: EntityManager): Promise<DepositRecord> => {
      const [, started] = await Promise.all([
        this.writeIntent(id, tenantId, input),
        starter.start(request, AbortSignal.timeout(this.d.providerTimeoutMs)).catch((err: unknown) => {
          throw err instanceof AppError ? err : new ProviderUnavailableError(input.provider, (err as Error).message);
        }),
      ]);
      return this.insert(executor, tenantId, id, input, started);
    };
    let replayed = false;
    try {
      const deposit =
        idempotencyKey === undefined
          ? await make()
          : await this.d.orm.em.fork().transactional(async (tx) => {
              const existing = await this.claimIdempotencyKey(tx, tenantId, idempotencyKey, requestHash(input), id);
              if (existing) {
                replayed = true;
                return existing;
              }
              return make(tx);
            });
      // A replayed Idempotency-Key answers an existing deposit: it did not enter PENDING again.
      if (!replayed) this.d.metrics?.depositsTotal.inc({ status: DepositStatus.PENDING });
      return { deposit, clientToken: this.d.clientTokens.issue(deposit.id) };
    } catch (err) {
      // Nothing is left behind: the intent of a deposit that was not stored goes too (absent is fine).
      await this.d.intents.take(id).catch(() => undefined);
      throw err;
    }
  }

  private async insert(
    executor: EntityManager | undefined,
    tenantId: string,
    id: string,
    input: CreateDepositInput,
    started: StartPaymentResult,
  ): Promise<DepositRecord> {
    const values = [
      id,
      tenantId,
      input.userId,
      input.provider,
      input.currency,
      input.amount,
      input.minAmount,
      input.maxAmount,
      started.checkoutUrl,
      input.redirectUrl,
      started.providerRef ?? null,
      this.d.depositTtlSeconds,
    ];
    if (executor) {
      const rows = await executor.execute(INSERT_DEPOSIT_ORM, values);
      return executor.map(Deposit, rows[0]);
    }
    const rows = await this.d.pool.query<DepositRow>({ name: 'deposit-insert', text: INSERT_DEPOSIT, values });
    return depositFromRow(rows.rows[0]);
  }

  /**
   * Inserts the key, or finds the deposit it already stands for. A concurrent request with the
   * same key waits on the unique index until the first commits (then reads its deposit) or
   * rolls back (then proceeds itself). Expired keys are taken over.
   */
  private async claimIdempotencyKey(
    tx: EntityManager,
    tenantId: string,
    key: string,
    hash: string,
    depositId: string,
  ): Promise<Deposit | undefined> {
    const expiresAt = new Date(Date.now() + this.d.idempotencyTtlHours * 3_600_000);
    const claimed = await tx.execute(
      `insert into idempotency_key (id, tenant_id, key, request_hash, deposit_id, expires_at) values (?, ?, ?, ?, ?, ?)
       on conflict (tenant_id, key) do update
         set request_hash = excluded.request_hash, deposit_id = excluded.deposit_id, created_at = now(), expires_at = excluded.expires_at
         where idempotency_key.expires_at < now()
       returning deposit_id`,
      [randomUUID(), tenantId, key, hash, depositId, expiresAt],
    );
    if (claimed.length > 0) return undefined;
    const rows = await tx.execute<{ request_hash: string; deposit_id: string }[]>(
      'select request_hash, deposit_id from idempotency_key where tenant_id = ? and key = ?',
      [tenantId, key],
    );
    if (rows[0].request_hash !== hash) throw new IdempotencyKeyReusedError();
    return tx.findOneOrFail(Deposit, { id: rows[0].deposit_id });
  }

  /** The intent is the seed's once-only guard, not the record: Redis being away must not stop a deposit. */
  private async writeIntent(id: string, tenantId: string, input: CreateDepositInput): Promise<boolean> {
    try {
      await this.d.intents.put(
        {
          depositId: id,
          tenantId,
          userId: input.userId,
          currency: input.currency,
          amount: input.amount,
          minAmount: input.minAmount,
          maxAmount: input.maxAmount,
        },
        this.d.depositTtlSeconds,
      );
      return true;
    } catch (err) {
      this.d.logger.warn(
        { depositId: id, err: (err as Error).message },
        'intent not written to redis; postgres stays the record',
      );
      return false;
    }
  }

  private async assertNotRejected(userId: string): Promise<void> {
    const rejected = await this.d.pool.query({
      name: 'deposit-user-rejected',
      text: 'select 1 from user_verification where user_id = $1 and status = $2',
      values: [userId, VerificationStatus.REJECTED],
    });
    if (rejected.rows.length > 0) throw new UserNotVerifiedError();
  }

  async get(tenantId: string, id: string): Promise<Deposit | null> {
    if (!isUuid(id)) return null;
    return this.d.orm.em.fork().findOne(Deposit, { id, tenant: tenantId });
  }

  /** Any tenant's deposit by id: for client tokens (which name the deposit) and the sandbox page. */
  async getById(id: string): Promise<Deposit | null> {
    if (!isUuid(id)) return null;
    return this.d.orm.em.fork().findOne(Deposit, { id });
  }

  /** Newest first; the cursor is the last deposit seen, compared as (created_at, id) in SQL. */
  async list(
    tenantId: string,
    filter: { userId?: string | null; status?: DepositStatus | null; first: number; after?: string | null },
  ): Promise<DepositPage> {
    if (filter.first < 1 || filter.first > MAX_PAGE_SIZE) {
      throw new BadUserInputError('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
    }
    const where: string[] = ['d.tenant_id = ?'];
    const params: unknown[] = [tenantId];
    if (filter.userId != null) {
      where.push('d.user_id = ?');
      params.push(filter.userId);
    }
    if (filter.status != null) {
      where.push('d.status = ?');
      params.push(filter.status);
    }
    if (filter.after != null) {
      const afterId = decodeCursor(filter.after);
      where.push(
        '(d.created_at, d.id) < (select c.created_at, c.id from deposit c where c.id = ? and c.tenant_id = ?)',
      );
      params.push(afterId, tenantId);
    }
    params.push(filter.first + 1);
    const em = this.d.orm.em.fork();
    const rows = await em.execute(
      `select d.* from deposit d where ${where.join(' and ')} order by d.created_at desc, d.id desc limit ?`,
      params,
    );
    const nodes = rows.slice(0, filter.first).map((r) => em.map(Deposit, r));
    return { nodes, hasNextPage: rows.length > filter.first };
  }

  async events(depositId: string): Promise<DepositEvent[]> {
    return this.d.orm.em
      .fork()
      .find(
        DepositEvent,
        { deposit: depositId },
        { orderBy: { occurredAt: 'asc', receivedAt: 'asc', inboxId: 'asc' } },
      );
  }

  async balances(tenantId: string, userId: string): Promise<Balance[]> {
    return this.d.orm.em.fork().find(Balance, { tenantId, userId }, { orderBy: { currency: 'asc' } });
  }

  async walletBalances(provider: string): Promise<WalletBalance[]> {
    return this.d.orm.em.fork().find(WalletBalance, { provider }, { orderBy: { address: 'asc', asset: 'asc' } });
  }

  async verification(userId: string): Promise<VerificationStatus> {
    const v = await this.d.orm.em.fork().findOne(UserVerification, { userId });
    return v?.status ?? VerificationStatus.UNVERIFIED;
  }
}

export function encodeCursor(depositId: string): string {
  return Buffer.from(`deposit:${depositId}`).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith('deposit:') ? text.slice('deposit:'.length) : '';
  if (!isUuid(id)) throw new BadUserInputError('after', 'is not a cursor returned by this API');
  return id;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** The same input always hashes the same, whatever the field order or spelling of amounts. */
function requestHash(input: CreateDepositInput): string {
  const ordered = Object.fromEntries(Object.entries(input).sort(([a], [b]) => a.localeCompare(b)));
  return sha256Hex(JSON.stringify(ordered));
}

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { IntentStore } from '../bus/intent-store.js';
import type { Orm } from '../db/orm.js';
import { inTransaction } from '../db/sql.js';
import { DepositStatus, VerificationStatus } from '../domain/deposit-status.js';
import { DepositEvent, UserVerification, WalletBalance } from '../entities/index.js';
import { sha256Hex } from '../lib/crypto.js';
import {
  AppError,
  BadUserInputError,
  IdempotencyKeyReusedError,
  ProviderNotConfiguredError,
  ProviderUnavailableError,
  UnknownProviderError,
  UserNotVerifiedError,
} from '../lib/errors.js';
import { isUuid } from '../lib/ids.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { isProviderName } from '../providers/index.js';
import type { PaymentStarter, StartPaymentRequest, StartPaymentResult } from '../providers/provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { findDeposit, insertDeposit, listDeposits, type DepositRecord } from '../store/deposits.store.js';
import { claimKey } from '../store/idempotency.store.js';
import type { SyncEnrolment } from '../store/sync-schedule.store.js';
import { isRejected } from '../store/verification.store.js';
import type { ClientTokens } from './client-token.js';
import { parseCreateDepositInput, type CreateDepositInput, type CreateDepositRawInput } from './deposit-input.js';

export interface DepositServiceDeps {
  orm: Orm;
  /** The pool MikroORM manages: createDeposit speaks SQL to it directly. */
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
  /** The automatic status sync's first delay and give-up, for deposits of a provider with a status API. */
  syncEnrolment?: (provider: string) => SyncEnrolment | undefined;
}

export interface CreatedDeposit {
  deposit: DepositRecord;
  clientToken: string;
}

export interface DepositPage {
  nodes: DepositRecord[];
  hasNextPage: boolean;
}

const MAX_PAGE_SIZE = 100;

/** Creating deposits and reading them back, scoped to a tenant. */
export class DepositService {
  constructor(private readonly d: DepositServiceDeps) {}

  /**
   * createDeposit: validate, honour the Idempotency-Key, write the Redis intent, store the
   * deposit PENDING, ask the provider for a payment. A provider that errs or times out leaves
   * no deposit (and no idempotency key) behind.
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
    if (await isRejected(this.d.pool, input.userId)) throw new UserNotVerifiedError();

    // Provider first (the deposit stores its checkout), then the deposit in one statement, the
    // intent written meanwhile. Without a key there is nothing to coordinate, so no transaction
    // either (the hot path's two statements go to the pool as prepared statements); with one,
    // the key and the deposit commit together (and a concurrent request with the key waits for them).
    const make = (sql: pg.Pool | pg.PoolClient) => this.make(sql, tenantId, input, request, starter);
    let replayed = false;
    try {
      const deposit =
        idempotencyKey === undefined
          ? await make(this.d.pool)
          : await inTransaction(this.d.pool, async (c) => {
              const existing = await this.claim(c, tenantId, idempotencyKey, requestHash(input), id);
              if (existing) {
                replayed = true;
                return existing;
              }
              return make(c);
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

  private async make(
    sql: pg.Pool | pg.PoolClient,
    tenantId: string,
    input: CreateDepositInput,
    request: StartPaymentRequest,
    starter: PaymentStarter,
  ): Promise<DepositRecord> {
    // The intent is written while the provider is asked and the deposit inserted: one Redis round
    // trip overlapping the rest, not one more in line. It never rejects (Redis away is logged), and
    // it is awaited before this returns or throws, so the caller's clean-up comes after it.
    const intent = this.writeIntent(request.depositId, tenantId, input);
    try {
      const started = await starter
        .start(request, AbortSignal.timeout(this.d.providerTimeoutMs))
        .catch((err: unknown) => {
          throw err instanceof AppError ? err : new ProviderUnavailableError(input.provider, (err as Error).message);
        });
      return await this.insert(sql, tenantId, input, request, started);
    } finally {
      await intent;
    }
  }

  private insert(
    sql: pg.Pool | pg.PoolClient,
    tenantId: string,
    input: CreateDepositInput,
    request: StartPaymentRequest,
    started: StartPaymentResult,
  ): Promise<DepositRecord> {
    return insertDeposit(sql, {
      id: request.depositId,
      tenantId,
      userId: input.userId,
      provider: input.provider,
      currency: input.currency,
      amount: input.amount,
      minAmount: input.minAmount,
      maxAmount: input.maxAmount,
      checkoutUrl: started.checkoutUrl,
      redirectUrl: input.redirectUrl,
      providerRef: started.providerRef ?? null,
      ttlSeconds: this.d.depositTtlSeconds,
      sync: this.d.syncEnrolment?.(input.provider),
    });
  }

  /** Claims the key for `depositId`, or answers the deposit it already stands for (the same input only). */
  private async claim(
    c: pg.PoolClient,
    tenantId: string,
    key: string,
    hash: string,
    depositId: string,
  ): Promise<DepositRecord | undefined> {
    const expiresAt = new Date(Date.now() + this.d.idempotencyTtlHours * 3_600_000);
    const earlier = await claimKey(c, { tenantId, key, requestHash: hash, depositId, expiresAt });
    if (!earlier) return undefined;
    if (earlier.requestHash !== hash) throw new IdempotencyKeyReusedError();
    const deposit = await findDeposit(c, earlier.depositId);
    // The key and its deposit commit together: one without the other is a bug, not the caller's.
    if (!deposit) throw new Error(`idempotency key of tenant ${tenantId} names a missing deposit`);
    return deposit;
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

  async get(tenantId: string, id: string): Promise<DepositRecord | null> {
    return findDeposit(this.d.pool, id, tenantId);
  }

  /** Any tenant's deposit by id: for client tokens (which name the deposit) and the sandbox page. */
  async getById(id: string): Promise<DepositRecord | null> {
    return findDeposit(this.d.pool, id);
  }

  /** Newest first; the cursor is the last deposit seen, compared as (created_at, id) in SQL. */
  async list(
    tenantId: string,
    filter: {
      userId?: string | null;
      status?: DepositStatus | null;
      needsAttention?: boolean | null;
      first: number;
      after?: string | null;
    },
  ): Promise<DepositPage> {
    if (filter.first < 1 || filter.first > MAX_PAGE_SIZE) {
      throw new BadUserInputError('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
    }
    const rows = await listDeposits(this.d.pool, tenantId, {
      userId: filter.userId,
      status: filter.status,
      needsAttention: filter.needsAttention,
      afterId: filter.after != null ? decodeCursor(filter.after) : undefined,
      limit: filter.first + 1,
    });
    return { nodes: rows.slice(0, filter.first), hasNextPage: rows.length > filter.first };
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

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = text.startsWith('deposit:') ? text.slice('deposit:'.length) : '';
  if (!isUuid(id)) throw new BadUserInputError('after', 'is not a cursor returned by this API');
  return id;
}

/** The same input always hashes the same, whatever the field order or spelling of amounts. */
function requestHash(input: CreateDepositInput): string {
  const ordered = Object.fromEntries(Object.entries(input).sort(([a], [b]) => a.localeCompare(b)));
  return sha256Hex(JSON.stringify(ordered));
}

import type pg from 'pg';
import { inTransaction } from '../db/sql.js';
import { EventSource } from '../domain/audit.js';
import { canonical, Dec } from '../domain/money.js';
import {
  availableActions,
  isRefusal,
  resolve,
  RESOLUTION_EVENT,
  ResolutionAction,
  type ResolutionOutcome,
} from '../domain/resolution-rules.js';
import { BadUserInputError, InvalidTransitionError, NotFoundError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { BatchStatement } from '../store/batch-statement.js';
import { addResolution, findDeposit, lockTenantDeposit, type DepositRecord } from '../store/deposits.store.js';
import { addEntries, depositTotals } from '../store/ledger.store.js';
import { addStatusChanges } from '../store/outbox.store.js';
import { addTimelineEntries } from '../store/timeline.store.js';

export interface ResolutionServiceDeps {
  pool: pg.Pool;
  logger: Logger;
  metrics?: Metrics;
  /** Called after a commit that wrote an outbox row: wakes the relay of this process (others hear the NOTIFY). */
  onOutboxWritten?: () => void;
}

export interface ResolutionRequest {
  action: ResolutionAction;
  reason: string;
  reference?: string | null;
  /** The label of the operator key that acts (the event's `actor`). */
  actor: string;
}

const MAX_REASON = 500;
const MAX_REFERENCE = 200;

/**
 * `resolveDeposit`: an operator settles exception money (contract: "Operators resolve exception
 * money"). The same discipline as an applied webhook: one transaction, the deposit's row lock
 * first (the applier's lock order), the rules (`domain/resolution-rules.ts`) decided on the locked
 * row, then one statement the stores compose: timeline (source OPERATOR), the deposit's status
 * and resolution, the outbox row (published like any change), the ledger entry. A second or
 * concurrent resolution waits for the lock, then finds the deposit resolved: INVALID_TRANSITION.
 */
export class ResolutionService {
  constructor(private readonly d: ResolutionServiceDeps) {}

  async resolve(tenantId: string, depositId: string, r: ResolutionRequest): Promise<DepositRecord> {
    const reason = checkText('reason', r.reason, 1, MAX_REASON);
    const reference = r.reference == null ? null : checkText('reference', r.reference, 0, MAX_REFERENCE) || null;

    const { deposit, outcome, from } = await inTransaction(this.d.pool, async (c) => {
      const locked = await lockTenantDeposit(c, tenantId, depositId);
      if (!locked) throw new NotFoundError('deposit', depositId);
      // What a reversal debits: what the deposit's entries credited (read under its lock).
      let credited: { amount: string; currency: string } | undefined;
      if (r.action === ResolutionAction.REVERSE && availableActions(locked).includes(ResolutionAction.REVERSE)) {
        const totals = await depositTotals(c, locked.id);
        if (totals.length === 1 && new Dec(totals[0].amount).gt(0)) credited = totals[0];
      }
      const decided = resolve(locked, r.action, credited);
      if (isRefusal(decided)) throw new InvalidTransitionError(r.action, locked.status, decided.allowed);

      const now = new Date();
      const statement = new BatchStatement('resolve');
      addTimelineEntries(statement, [
        {
          deposit: locked,
          stored: { inboxId: null, receivedAt: now },
          audit: { source: EventSource.OPERATOR, actor: r.actor, reason, reference: reference ?? undefined },
          event: {
            kind: 'deposit',
            ref: { by: 'id', depositId: locked.id },
            effect: 'record',
            status: decided.status,
            providerStatus: RESOLUTION_EVENT[r.action],
            occurredAt: now,
          },
          // The money that moved, as a size (the event's kind says which way).
          money: decided.entry && {
            amount: canonical(new Dec(decided.entry.amount).abs()),
            currency: decided.entry.currency,
          },
        },
      ]);
      addResolution(statement, { id: locked.id, status: decided.status, resolution: decided.resolution });
      addStatusChanges(statement, [{ deposit: locked, from: locked.status, to: decided.status }]);
      if (decided.entry) addEntries(statement, [{ deposit: locked, ...decided.entry }]);
      const out = await statement.run(c);
      // Under the row lock neither can fail; if one did, nothing of it may commit.
      if (out.resolved !== true) throw new Error(`deposit ${locked.id} was resolved under its lock`);
      if (decided.entry && !(out.credited as string[]).includes(locked.id)) {
        throw new Error(`the ledger refused the ${decided.entry.kind} of deposit ${locked.id}`);
      }
      const after = await findDeposit(c, locked.id, tenantId);
      return { deposit: after!, outcome: decided, from: locked.status };
    });

    this.d.metrics?.depositsTotal.inc({ status: outcome.status });
    this.d.onOutboxWritten?.();
    this.log(tenantId, deposit, r, outcome, from);
    return deposit;
  }

  private log(
    tenantId: string,
    deposit: DepositRecord,
    r: ResolutionRequest,
    outcome: ResolutionOutcome,
    from: string,
  ): void {
    this.d.logger.info(
      {
        tenantId,
        depositId: deposit.id,
        action: r.action,
        actor: r.actor,
        from,
        status: outcome.status,
        resolution: outcome.resolution,
        entry: outcome.entry,
      },
      'deposit resolved by an operator',
    );
  }
}

/** Trimmed text of `min`..`max` characters, no NUL (Postgres cannot store it), else BAD_USER_INPUT naming `field`. */
function checkText(field: string, value: string, min: number, max: number): string {
  const text = value.trim();
  if (text.includes('\u0000')) throw new BadUserInputError(field, 'must not contain NUL characters');
  // UTF-16 units, as the timeline store cuts its columns: what is accepted is stored whole.
  if (text.length < min || text.length > max) {
    throw new BadUserInputError(
      field,
      min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`,
    );
  }
  return text;
}

import { describe, expect, it } from 'vitest';
import {
  INITIAL_LIST,
  listQuery,
  listReducer,
  matchesQuery,
  NO_FILTERS,
  type DepositRow,
  type ListState,
} from '../../console/src/state/deposit-list.js';

/** The operator console's deposit list: what the filters ask for, and how pages and live changes fold in. */

const ID = '3f2c1a9e-7b64-4d2e-9c1a-5e8f0b7d6a42';

function deposit(over: Partial<DepositRow> & { id: string; createdAt: string }): DepositRow {
  return {
    userId: 'alice',
    provider: 'sandbox',
    currency: 'USD',
    amount: '25',
    minAmount: null,
    maxAmount: null,
    receivedAmount: null,
    receivedCurrency: null,
    paymentState: null,
    status: 'PENDING',
    rejectionReason: null,
    resolution: null,
    needsAttention: false,
    updatedAt: over.createdAt,
    ...over,
  };
}

function loaded(rows: DepositRow[], hasNextPage = false): ListState {
  return listReducer(INITIAL_LIST, { type: 'loaded', rows, hasNextPage, endCursor: 'c', append: false });
}

const a = deposit({ id: 'a', createdAt: '2026-11-26T10:00:03Z' });
const b = deposit({ id: 'b', createdAt: '2026-11-26T10:00:02Z', userId: 'bob' });
const c = deposit({ id: 'c', createdAt: '2026-11-26T10:00:01Z' });

describe('the console deposit list', () => {
  it('asks for the tenant, a user, or (for a UUID) a deposit id and a user', () => {
    expect(listQuery(NO_FILTERS)).toEqual({ kind: 'all', status: null, needsAttention: false });
    expect(listQuery({ ...NO_FILTERS, search: '  bob ', status: 'COMPLETED' })).toEqual({
      kind: 'user',
      userId: 'bob',
      status: 'COMPLETED',
      needsAttention: false,
    });
    expect(listQuery({ ...NO_FILTERS, search: ID.toUpperCase() })).toMatchObject({
      kind: 'idOrUser',
      id: ID,
      userId: ID.toUpperCase(),
    });
    expect(listQuery({ ...NO_FILTERS, needsAttention: true, search: 'bob' })).toEqual({
      kind: 'user',
      userId: 'bob',
      status: null,
      needsAttention: true,
    });
  });

  it('takes in a deposit revealed by a live change only when the list would show it', () => {
    const completed = { ...b, status: 'COMPLETED' as const };
    expect(matchesQuery(listQuery(NO_FILTERS), completed)).toBe(true);
    expect(matchesQuery(listQuery({ ...NO_FILTERS, status: 'PENDING' }), completed)).toBe(false);
    expect(matchesQuery(listQuery({ ...NO_FILTERS, search: 'bob' }), completed)).toBe(true);
    expect(matchesQuery(listQuery({ ...NO_FILTERS, search: 'alice' }), completed)).toBe(false);
    // Found by id whatever its status.
    const byId = { ...completed, id: ID };
    expect(matchesQuery(listQuery({ ...NO_FILTERS, search: ID, status: 'PENDING' }), byId)).toBe(true);
    // "Needs attention" takes only those that do.
    const attention = listQuery({ ...NO_FILTERS, needsAttention: true });
    expect(matchesQuery(attention, completed)).toBe(false);
    expect(matchesQuery(attention, { ...b, status: 'REJECTED', needsAttention: true })).toBe(true);
  });

  it('updates a known row with a change, never with an older one, and flashes it', () => {
    const s = loaded([a, b]);
    const paid = { ...b, status: 'COMPLETED' as const, updatedAt: '2026-11-26T10:05:00Z' };
    const after = listReducer(s, { type: 'changed', deposit: paid });
    expect(after.rows.map((r) => r.status)).toEqual(['PENDING', 'COMPLETED']);
    expect(after.changes).toEqual({ b: 1 });
    expect(after.announcement).toBe('Deposit b of bob is now COMPLETED.');

    const stale = { ...b, status: 'DETECTED' as const, updatedAt: '2026-11-26T10:01:00Z' };
    expect(listReducer(after, { type: 'changed', deposit: stale })).toBe(after);
    // A change for a row the list does not show changes nothing.
    expect(listReducer(after, { type: 'changed', deposit: c })).toBe(after);
  });

  it('puts a new deposit in its place, newest first, unless it belongs to a page not loaded yet', () => {
    const newest = deposit({ id: 'n', createdAt: '2026-11-26T11:00:00Z' });
    expect(listReducer(loaded([a, c]), { type: 'appeared', deposit: newest }).rows.map((r) => r.id)).toEqual([
      'n',
      'a',
      'c',
    ]);
    expect(listReducer(loaded([a, c]), { type: 'appeared', deposit: b }).rows.map((r) => r.id)).toEqual([
      'a',
      'b',
      'c',
    ]);
    const old = deposit({ id: 'o', createdAt: '2026-11-26T09:00:00Z' });
    expect(listReducer(loaded([a, c], true), { type: 'appeared', deposit: old }).rows.map((r) => r.id)).toEqual([
      'a',
      'c',
    ]);
    expect(listReducer(loaded([a, c], false), { type: 'appeared', deposit: old }).rows.map((r) => r.id)).toEqual([
      'a',
      'c',
      'o',
    ]);
    // Already shown (a fetch that raced a reload): it is an update, not a second row.
    const again = listReducer(loaded([a, c]), {
      type: 'appeared',
      deposit: { ...a, updatedAt: '2026-11-26T12:00:00Z' },
    });
    expect(again.rows.map((r) => r.id)).toEqual(['a', 'c']);
    // While a page loads, nothing is added (the page will have it).
    expect(listReducer(INITIAL_LIST, { type: 'appeared', deposit: newest })).toBe(INITIAL_LIST);
  });

  it('appends a page without duplicating a deposit that moved between pages', () => {
    const s = loaded([a, b], true);
    const next = listReducer(listReducer(s, { type: 'loadMore' }), {
      type: 'loaded',
      rows: [b, c],
      hasNextPage: false,
      endCursor: null,
      append: true,
    });
    expect(next.rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(next).toMatchObject({ hasNextPage: false, loadingMore: false, status: 'ready' });
    const failed = listReducer(s, { type: 'failed', error: 'gone', append: true });
    expect(failed).toMatchObject({ rows: [a, b], status: 'ready', error: 'gone' });
  });
});

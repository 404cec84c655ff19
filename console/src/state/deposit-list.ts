import type { DepositRowFragment, DepositStatus } from '../generated/graphql.js';
import { isUuid } from '../lib/format.js';

/**
 * The deposit list's state, as pure functions (React-free, unit-tested in
 * test/unit/console-deposit-list.test.ts): what to ask the gateway for a set of filters, how a
 * page of results and a live change fold into the rows.
 */

export type DepositRow = DepositRowFragment;

export interface ListFilters {
  status: DepositStatus | null;
  needsAttention: boolean;
  /** A deposit id, or a user id. */
  search: string;
}

export const NO_FILTERS: ListFilters = { status: null, needsAttention: false, search: '' };

/**
 * What the filters ask for:
 * - all: the tenant's deposits (with the status filter);
 * - user: one user's deposits (with the status filter);
 * - idOrUser: a UUID was typed, which may be a deposit id or (rarely) a user id: the deposit with
 *   that id first (whatever its status), then that user's deposits.
 */
export type ListQuery =
  | { kind: 'all'; status: DepositStatus | null; needsAttention: boolean }
  | { kind: 'user'; userId: string; status: DepositStatus | null; needsAttention: boolean }
  | { kind: 'idOrUser'; id: string; userId: string; status: DepositStatus | null; needsAttention: boolean };

export function listQuery(filters: ListFilters): ListQuery {
  const status = filters.status;
  const needsAttention = filters.needsAttention;
  const search = filters.search.trim();
  if (search === '') return { kind: 'all', status, needsAttention };
  if (isUuid(search)) return { kind: 'idOrUser', id: search.toLowerCase(), userId: search, status, needsAttention };
  return { kind: 'user', userId: search, status, needsAttention };
}

/** Whether a deposit belongs in the list the query shows (for a deposit that a live change reveals). */
export function matchesQuery(query: ListQuery, d: DepositRow): boolean {
  if (query.kind === 'idOrUser' && d.id.toLowerCase() === query.id) return true;
  if (query.status && d.status !== query.status) return false;
  if (query.needsAttention && !d.needsAttention) return false;
  if (query.kind === 'user' || query.kind === 'idOrUser') return d.userId === query.userId;
  return true;
}

export interface ListState {
  rows: DepositRow[];
  hasNextPage: boolean;
  endCursor: string | null;
  status: 'loading' | 'ready' | 'error';
  loadingMore: boolean;
  error: string | null;
  /** Per row id, how many live changes it has had (to flash the row each time). */
  changes: Record<string, number>;
  /** The last live change, in words, for screen readers. */
  announcement: string;
}

export const INITIAL_LIST: ListState = {
  rows: [],
  hasNextPage: false,
  endCursor: null,
  status: 'loading',
  loadingMore: false,
  error: null,
  changes: {},
  announcement: '',
};

export type ListAction =
  | { type: 'load' }
  | { type: 'loadMore' }
  | { type: 'loaded'; rows: DepositRow[]; hasNextPage: boolean; endCursor: string | null; append: boolean }
  | { type: 'failed'; error: string; append: boolean }
  | { type: 'changed'; deposit: DepositRow }
  | { type: 'appeared'; deposit: DepositRow };

const newest = (a: DepositRow, b: DepositRow) => Date.parse(b.createdAt) - Date.parse(a.createdAt);

/** Rows without duplicates (a deposit that moved between pages while paging shows once). */
function dedupe(rows: DepositRow[]): DepositRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}

/** `next` replaces `current` unless it is older (a live change can trail a fresher fetch). */
function fresher(current: DepositRow, next: DepositRow): boolean {
  return Date.parse(next.updatedAt) >= Date.parse(current.updatedAt);
}

export function listReducer(state: ListState, action: ListAction): ListState {
  switch (action.type) {
    case 'load':
      return INITIAL_LIST;
    case 'loadMore':
      return { ...state, loadingMore: true, error: null };
    case 'loaded':
      return {
        ...state,
        rows: dedupe(action.append ? [...state.rows, ...action.rows] : action.rows),
        hasNextPage: action.hasNextPage,
        endCursor: action.endCursor,
        status: 'ready',
        loadingMore: false,
        error: null,
        changes: action.append ? state.changes : {},
      };
    case 'failed':
      return action.append
        ? { ...state, loadingMore: false, error: action.error }
        : { ...state, rows: [], status: 'error', loadingMore: false, error: action.error };
    case 'changed': {
      const i = state.rows.findIndex((r) => r.id === action.deposit.id);
      if (i < 0 || !fresher(state.rows[i], action.deposit)) return state;
      const rows = state.rows.slice();
      rows[i] = action.deposit;
      return { ...state, rows, ...flashed(state, action.deposit) };
    }
    case 'appeared': {
      if (state.status !== 'ready') return state;
      if (state.rows.some((r) => r.id === action.deposit.id)) {
        return listReducer(state, { type: 'changed', deposit: action.deposit });
      }
      // Newest first: its place by creation time. Older than every loaded row while more pages
      // remain: it belongs to a page not loaded yet, which will bring it.
      const at = state.rows.findIndex((r) => newest(action.deposit, r) <= 0);
      if (at < 0 && state.hasNextPage) return state;
      const rows = state.rows.slice();
      rows.splice(at < 0 ? rows.length : at, 0, action.deposit);
      return { ...state, rows, ...flashed(state, action.deposit) };
    }
  }
}

function flashed(state: ListState, d: DepositRow): Pick<ListState, 'changes' | 'announcement'> {
  return {
    changes: { ...state.changes, [d.id]: (state.changes[d.id] ?? 0) + 1 },
    announcement: `Deposit ${d.id} of ${d.userId} is now ${d.status}.`,
  };
}

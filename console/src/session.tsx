import { createContext, useCallback, useContext, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { ReactNode } from 'react';
import { describeError, isUnauthenticated, request } from './api/graphql-client.js';
import { startLiveFeed, type LiveFeed, type LiveState } from './api/live.js';
import {
  DepositListDocument,
  DepositRowByIdDocument,
  type DepositListQueryVariables,
  type TypedDocumentString,
} from './generated/graphql.js';
import {
  INITIAL_LIST,
  listQuery,
  listReducer,
  matchesQuery,
  NO_FILTERS,
  type DepositRow,
  type ListFilters,
  type ListQuery,
  type ListState,
} from './state/deposit-list.js';

/** Sends a document with the session's key; a refused key ends the session. */
export type Api = <TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables?: TVariables,
  signal?: AbortSignal,
) => Promise<TResult>;

interface Session {
  api: Api;
  live: LiveFeed;
  liveState: LiveState;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}

export const REFUSED_NOTICE = 'The gateway no longer accepts this API key. Sign in again.';

/**
 * Everything a signed-in tab holds: the key (in the closure of `api`), one graphql-ws connection
 * for the whole session, and the deposit list (kept while the operator visits a deposit's page,
 * and updated live all along).
 */
export function SessionProvider(props: { apiKey: string; onSignOut(notice?: string): void; children: ReactNode }) {
  const { apiKey, onSignOut } = props;
  const [live, setLive] = useState<LiveFeed | null>(null);
  const [liveState, setLiveState] = useState<LiveState>('connecting');

  useEffect(() => {
    const feed = startLiveFeed(apiKey);
    setLive(feed);
    setLiveState(feed.state);
    const offState = feed.onState((state) => {
      setLiveState(state);
      if (state === 'refused') onSignOut(REFUSED_NOTICE);
    });
    return () => {
      offState();
      feed.dispose();
    };
  }, [apiKey, onSignOut]);

  const api = useCallback<Api>(
    async (document, variables, signal) => {
      try {
        return await request(apiKey, document, variables, signal);
      } catch (err) {
        if (isUnauthenticated(err)) onSignOut(REFUSED_NOTICE);
        throw err;
      }
    },
    [apiKey, onSignOut],
  );

  const session = useMemo(
    () => (live ? { api, live, liveState, signOut: () => onSignOut() } : null),
    [api, live, liveState, onSignOut],
  );
  if (!session) return null;
  return (
    <SessionContext.Provider value={session}>
      <DepositListProvider>{props.children}</DepositListProvider>
    </SessionContext.Provider>
  );
}

export const PAGE_SIZE = 25;

interface DepositList {
  filters: ListFilters;
  setFilters(update: (f: ListFilters) => ListFilters): void;
  query: ListQuery;
  state: ListState;
  loadMore(): void;
  reload(): void;
}

const DepositListContext = createContext<DepositList | null>(null);

export function useDepositList(): DepositList {
  const l = useContext(DepositListContext);
  if (!l) throw new Error('useDepositList outside a signed-in session');
  return l;
}

/** A page of the list the query asks for (a UUID search puts the deposit with that id first). */
async function fetchPage(api: Api, query: ListQuery, after: string | null, signal: AbortSignal) {
  const variables: DepositListQueryVariables = {
    status: query.status,
    // Unchecked: every deposit (false would ask for those that need no attention).
    needsAttention: query.needsAttention ? true : null,
    userId: query.kind === 'all' ? null : query.userId,
    first: PAGE_SIZE,
    after,
  };
  const [list, byId] = await Promise.all([
    api(DepositListDocument, variables, signal),
    query.kind === 'idOrUser' && after === null
      ? api(DepositRowByIdDocument, { id: query.id }, signal)
      : Promise.resolve(null),
  ]);
  let rows: DepositRow[] = list.deposits.edges.map((e) => e.node);
  const found = byId?.deposit;
  if (found) rows = [found, ...rows.filter((r) => r.id !== found.id)];
  return { rows, hasNextPage: list.deposits.pageInfo.hasNextPage, endCursor: list.deposits.pageInfo.endCursor ?? null };
}

function DepositListProvider(props: { children: ReactNode }) {
  const { api, live } = useSession();
  const [filters, setFiltersState] = useState<ListFilters>(NO_FILTERS);
  const search = filters.search.trim();
  // A new query (and a fetch) only when what is asked for changes, not on every keystroke's echo.
  const query = useMemo(
    () => listQuery({ status: filters.status, needsAttention: filters.needsAttention, search }),
    [filters.status, filters.needsAttention, search],
  );
  const [state, dispatch] = useReducer(listReducer, INITIAL_LIST);
  const [generation, setGeneration] = useState(0);
  const abortRef = useRef<AbortController | null>(null);

  // The first page, whenever the query changes (or a reload is asked for).
  useEffect(() => {
    const ctrl = new AbortController();
    abortRef.current?.abort();
    abortRef.current = ctrl;
    dispatch({ type: 'load' });
    fetchPage(api, query, null, ctrl.signal).then(
      (page) => !ctrl.signal.aborted && dispatch({ type: 'loaded', ...page, append: false }),
      (err) => !ctrl.signal.aborted && dispatch({ type: 'failed', error: describeError(err), append: false }),
    );
    return () => ctrl.abort();
  }, [api, query, generation]);

  const stateRef = useRef(state);
  stateRef.current = state;
  const queryRef = useRef(query);
  queryRef.current = query;

  const loadMore = useCallback(() => {
    const { endCursor, hasNextPage, loadingMore } = stateRef.current;
    const ctrl = abortRef.current;
    if (!ctrl || !hasNextPage || loadingMore) return;
    dispatch({ type: 'loadMore' });
    fetchPage(api, queryRef.current, endCursor, ctrl.signal).then(
      (page) => !ctrl.signal.aborted && dispatch({ type: 'loaded', ...page, append: true }),
      (err) => !ctrl.signal.aborted && dispatch({ type: 'failed', error: describeError(err), append: true }),
    );
  }, [api]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  // Live: a known row takes the change; a deposit the list does not show yet is fetched as it is
  // now and put in its place if it belongs to the list.
  useEffect(() => {
    const fetching = new Set<string>();
    const offChange = live.onChange((change) => {
      const d = change.deposit;
      if (stateRef.current.rows.some((r) => r.id === d.id)) {
        dispatch({ type: 'changed', deposit: d });
        return;
      }
      if (!matchesQuery(queryRef.current, d) || fetching.has(d.id)) return;
      fetching.add(d.id);
      api(DepositRowByIdDocument, { id: d.id })
        .then((r) => {
          if (r.deposit && matchesQuery(queryRef.current, r.deposit))
            dispatch({ type: 'appeared', deposit: r.deposit });
        })
        .catch(() => undefined)
        .finally(() => fetching.delete(d.id));
    });
    // Reconnected without a cursor to resume from: what changed meanwhile is read again.
    const offGap = live.onGap(reload);
    return () => {
      offChange();
      offGap();
    };
  }, [api, live, reload]);

  const setFilters = useCallback((update: (f: ListFilters) => ListFilters) => setFiltersState(update), []);
  const value = useMemo(
    () => ({ filters, setFilters, query, state, loadMore, reload }),
    [filters, setFilters, query, state, loadMore, reload],
  );
  return <DepositListContext.Provider value={value}>{props.children}</DepositListContext.Provider>;
}

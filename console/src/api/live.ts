import { createClient, type Client } from 'graphql-ws/client';
import {
  LiveDepositChangesDocument,
  type LiveDepositChangesSubscription,
  type LiveDepositChangesSubscriptionVariables,
} from '../generated/graphql.js';
import { GRAPHQL_PATH } from './graphql-client.js';

export type LiveChange = LiveDepositChangesSubscription['depositStatusChanged'];

/** connecting: first connection; live: subscribed; reconnecting: lost, retrying; refused: the key was refused. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'refused';

export interface LiveFeed {
  /** Every status change of the tenant, in order, from now on. Returns the unsubscribe function. */
  onChange(listener: (change: LiveChange) => void): () => void;
  onState(listener: (state: LiveState) => void): () => void;
  /** Called after a reconnect that could not resume from a cursor (changes may have been missed). */
  onGap(listener: () => void): () => void;
  readonly state: LiveState;
  dispose(): void;
}

/** graphql-ws' close code for refused credentials (docs/api.md, 10.6). */
const CLOSE_FORBIDDEN = 4403;
const MAX_RETRY_WAIT_MS = 15_000;

function isCloseEvent(value: unknown): value is { code: number } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number';
}

/**
 * One graphql-ws connection to this origin's `/graphql`, authenticated with `{ apiKey }`, running
 * the tenant-wide `depositStatusChanged`. It reconnects for as long as the page is open and resumes
 * after the last change it delivered (the `after` cursor, read by graphql-ws at each resubscribe),
 * so no change is lost or repeated across a reconnect.
 */
export function startLiveFeed(apiKey: string): LiveFeed {
  const changeListeners = new Set<(change: LiveChange) => void>();
  const stateListeners = new Set<(state: LiveState) => void>();
  const gapListeners = new Set<() => void>();
  let state: LiveState = 'connecting';
  let disposed = false;
  let resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  // graphql-ws sends this object again on every resubscribe: keep the last cursor in it.
  const variables: LiveDepositChangesSubscriptionVariables = { after: null };

  const setState = (next: LiveState) => {
    if (disposed || state === next) return;
    state = next;
    for (const l of stateListeners) l(next);
  };

  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${GRAPHQL_PATH}`;
  const client: Client = createClient({
    url,
    connectionParams: () => ({ apiKey }),
    retryAttempts: Number.POSITIVE_INFINITY,
    // A refused key is final; anything else (gateway restart, network) is retried.
    shouldRetry: (e) => !(isCloseEvent(e) && e.code === CLOSE_FORBIDDEN),
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(MAX_RETRY_WAIT_MS, 500 * 2 ** retries) + Math.random() * 500),
      ),
    on: {
      connected: (_socket, _payload, wasRetry) => {
        setState('live');
        if (wasRetry && variables.after == null) for (const l of gapListeners) l();
      },
      closed: (event) => {
        if (disposed) return;
        setState(isCloseEvent(event) && event.code === CLOSE_FORBIDDEN ? 'refused' : 'reconnecting');
      },
    },
  });

  let unsubscribe: () => void = () => undefined;
  const subscribe = () => {
    unsubscribe = client.subscribe<LiveDepositChangesSubscription>(
      { query: LiveDepositChangesDocument.toString(), variables },
      {
        next: ({ data }) => {
          const change = data?.depositStatusChanged;
          if (!change) return;
          variables.after = change.cursor;
          for (const l of changeListeners) l(change);
        },
        error: (err) => {
          if (disposed) return;
          if (isCloseEvent(err) && err.code === CLOSE_FORBIDDEN) {
            setState('refused');
            return;
          }
          // The operation was ended (fell too far behind, or the gateway refused it): start it
          // again after the last cursor.
          setState('reconnecting');
          resubscribeTimer = setTimeout(subscribe, 2000);
        },
        complete: () => undefined,
      },
    );
  };
  subscribe();

  return {
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onGap(listener) {
      gapListeners.add(listener);
      return () => gapListeners.delete(listener);
    },
    get state() {
      return state;
    },
    dispose() {
      disposed = true;
      clearTimeout(resubscribeTimer);
      unsubscribe();
      void client.dispose();
      changeListeners.clear();
      stateListeners.clear();
      gapListeners.clear();
    },
  };
}

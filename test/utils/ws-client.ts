import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * graphql-ws as a browser UI uses it (`createClient`), with `ws` as the socket.
 * Nothing retries: a test sees the first close code the server sends.
 */

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface WsConnection {
  client: Client;
  /** Every close the client saw, in order. */
  closes: CloseInfo[];
  /** Resolves once the server acknowledged `connection_init`; rejects with the close if it closed first. */
  connected: Promise<void>;
  /** Resolves with the first close (whenever it happens). */
  closed: Promise<CloseInfo>;
  subscribe<TResult, TVars extends Record<string, unknown>>(
    doc: TypedDocumentNode<TResult, TVars>,
    variables?: TVars,
  ): EventCollector<TResult>;
  /** Cuts the TCP connection without a close frame, as a crashed browser tab would. */
  terminate(): void;
  dispose(): Promise<void>;
}

export interface EventCollector<T> {
  /** `data` of every `next` that had data, in arrival order. */
  events: T[];
  /** Errors of this operation: from `next` payloads that carried errors, and from an `error` message. */
  errors: GraphQLFormattedError[];
  /** The close event if the socket closed under this operation. */
  closeEvent?: CloseInfo;
  completed: boolean;
  /** Resolves with the events once at least `n` arrived. */
  waitForCount(n: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves once `predicate` holds over what was collected so far. */
  waitUntil(predicate: (c: EventCollector<T>) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Resolves once the operation ended (complete, error or socket closed). */
  waitForEnd(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

const DEFAULT_WAIT_MS = 15_000;

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/** Opens a graphql-ws connection to `gatewayUrl` at once (not lazily), sending `connectionParams` in `connection_init`. */
export function connectWs(gatewayUrl: string, connectionParams?: Record<string, unknown>): WsConnection {
  const closes: CloseInfo[] = [];
  let socket: WebSocket | undefined;
  let resolveConnected!: () => void;
  let rejectConnected!: (c: CloseInfo) => void;
  const connected = new Promise<void>((resolve, reject) => {
    resolveConnected = resolve;
    rejectConnected = reject;
  });
  connected.catch(() => undefined);
  let resolveClosed!: (c: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((resolve) => (resolveClosed = resolve));
  const closeListeners = new Set<(c: CloseInfo) => void>();

  const client = createClient({
    url: wsUrl(gatewayUrl),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    // No keep-alive pings: the tests control every frame on the wire.
    keepAlive: 0,
    onNonLazyError: () => undefined,
    on: {
      connected: (s) => {
        socket = s as WebSocket;
        resolveConnected();
      },
      closed: (event) => {
        const e = event as { code?: number; reason?: string | Buffer };
        const info: CloseInfo = { code: e.code ?? 0, reason: String(e.reason ?? '') };
        closes.push(info);
        rejectConnected(info);
        resolveClosed(info);
        for (const l of closeListeners) l(info);
      },
    },
  });

  return {
    client,
    closes,
    connected,
    closed,
    subscribe(doc, variables) {
      return collect(client, doc, variables, closeListeners);
    },
    terminate() {
      if (!socket) throw new Error('not connected');
      socket.terminate();
    },
    async dispose() {
      await client.dispose();
    },
  };
}

function collect<TResult, TVars extends Record<string, unknown>>(
  client: Client,
  doc: TypedDocumentNode<TResult, TVars>,
  variables: TVars | undefined,
  closeListeners: Set<(c: CloseInfo) => void>,
): EventCollector<TResult> {
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  let ended = false;
  const end = () => {
    ended = true;
    closeListeners.delete(onClose);
    notify();
  };
  const onClose = (c: CloseInfo) => {
    c2.closeEvent = c;
    end();
  };
  closeListeners.add(onClose);

  const c2: EventCollector<TResult> = {
    events: [],
    errors: [],
    completed: false,
    waitForCount(n, timeoutMs) {
      return c2.waitUntil((c) => c.events.length >= n, timeoutMs, `${n} events`).then(() => c2.events);
    },
    waitUntil(predicate, timeoutMs = DEFAULT_WAIT_MS, what = 'the condition') {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate(c2)) {
            done();
            resolve();
          } else if (ended) {
            done();
            reject(new Error(`the operation ended before ${what}: ${describe(c2)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${what} did not happen within ${timeoutMs} ms: ${describe(c2)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    waitForEnd(timeoutMs = DEFAULT_WAIT_MS) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!ended) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the operation did not end within ${timeoutMs} ms: ${describe(c2)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    unsubscribe: () => {
      unsubscribe();
      end();
    },
  };

  const unsubscribe = client.subscribe<TResult>(
    { query: print(doc), variables },
    {
      next: (result) => {
        if (result.errors) c2.errors.push(...result.errors);
        if (result.data) c2.events.push(result.data as TResult);
        notify();
      },
      error: (err) => {
        if (Array.isArray(err)) c2.errors.push(...(err as GraphQLFormattedError[]));
        else if (err instanceof Error) c2.errors.push({ message: err.message });
        else {
          const e = err as { code?: number; reason?: string };
          if (typeof e?.code === 'number') c2.closeEvent = { code: e.code, reason: String(e.reason ?? '') };
        }
        end();
      },
      complete: () => {
        c2.completed = true;
        end();
      },
    },
  );
  return c2;
}

function describe(c: EventCollector<unknown>): string {
  return JSON.stringify({
    events: c.events.length,
    last: c.events.at(-1),
    errors: c.errors,
    closeEvent: c.closeEvent,
    completed: c.completed,
  });
}

/**
 * A bare socket speaking graphql-transport-ws that never sends `connection_init`:
 * resolves with the close the server sends.
 */
export function openSilentSocket(gatewayUrl: string): { opened: Promise<void>; closed: Promise<CloseInfo> } {
  const ws = new WebSocket(wsUrl(gatewayUrl), 'graphql-transport-ws');
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const closed = new Promise<CloseInfo>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  return { opened, closed };
}

import {
  CloseCode,
  handleProtocols,
  makeServer,
  type ServerOptions,
  type WebSocket as ProtocolSocket,
} from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../observability/logger.js';

/**
 * graphql-ws over `ws`: the adapter graphql-ws ships (`graphql-ws/use/ws`, `useServer`), rewritten
 * to hold less per socket, since a gateway keeps thousands of them open and mostly idle (bench
 * scenario 4). The protocol, its close codes and the keep-alive are graphql-ws's and ws's, unchanged.
 * What one socket no longer holds, measured from heap snapshots (`BENCH_HEAP=1`):
 * - the upgrade request (`IncomingMessage`, its raw headers): `useServer` keeps it in
 *   `ctx.extra.request` for the socket's whole life, about 1.3 KiB;
 * - the subscribe message's Buffer and the async frame around it: `useServer` awaits each message's
 *   handling, and the handling of a subscribe lasts as long as the subscription, about 1 KiB;
 * - a keep-alive interval, its closure and a `once('pong')` per socket: one timer pings every socket;
 * - three closures (send, close, onMessage): one `SocketAdapter` object with its methods on the prototype.
 */

/** What graphql-ws's context carries of the transport: the socket, nothing else. */
export interface SocketExtra {
  readonly socket: WebSocket;
}

export interface SocketTransportOptions {
  logger: Logger;
  /** Internal errors close with their message outside production, with a generic one in it. */
  isProduction: boolean;
  /** Every socket is pinged this often; one that has not answered the previous ping by then is terminated. */
  keepAliveMs: number;
  /** After graphql-ws has been told a socket closed. */
  onClose?: (socket: WebSocket) => void;
}

export interface SocketTransport {
  /** Serves an upgraded socket of `wss`. */
  serve(socket: WebSocket): void;
  /** Closes every socket with 1001 (going away) and the server. */
  dispose(): Promise<void>;
}

export function socketTransport<P extends Record<string, unknown>, E extends Record<PropertyKey, unknown>>(
  options: ServerOptions<P, SocketExtra & Partial<E>>,
  wss: WebSocketServer,
  o: SocketTransportOptions,
): SocketTransport {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  const internalError = (socket: WebSocket, err: unknown, what: string) => {
    o.logger.error({ err }, what);
    const message = err instanceof Error ? err.message : String(err);
    const reason = o.isProduction || message.length >= 124 ? 'Internal server error' : message;
    socket.close(CloseCode.InternalServerError, reason);
  };
  wss.once('error', (err) => {
    for (const client of wss.clients) internalError(client, err, 'socket server failed');
  });

  // Pinged and not answered since: terminated at the next round.
  const unanswered = new WeakSet<WebSocket>();
  function answered(this: WebSocket): void {
    unanswered.delete(this);
  }
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (socket.readyState !== socket.OPEN) continue;
      if (unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      unanswered.add(socket);
      socket.ping();
    }
  }, o.keepAliveMs);
  keepAlive.unref();

  return {
    serve(socket) {
      socket.on('pong', answered);
      const closed = server.opened(new SocketAdapter(socket, internalError), { socket } as SocketExtra & Partial<E>);
      socket.on('close', (code, reason) => {
        closed(code, String(reason)).catch((err: unknown) => o.logger.error({ err }, 'socket close failed'));
        o.onClose?.(socket);
      });
    },
    async dispose() {
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** graphql-ws's view of a `ws` socket: methods on the prototype, so a socket costs one object, not three closures. */
class SocketAdapter implements ProtocolSocket {
  constructor(
    private readonly socket: WebSocket,
    private readonly failed: (socket: WebSocket, err: unknown, what: string) => void,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.socket.readyState !== this.socket.OPEN) return resolve();
      this.socket.send(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /**
   * Not awaited: the handling of a subscribe lasts as long as the subscription, and an async
   * listener would hold the message's Buffer all that time.
   */
  onMessage(handle: (data: string) => Promise<void>): void {
    this.socket.on('message', (data) => {
      handle(String(data)).catch((err: unknown) => this.failed(this.socket, err, 'socket message failed'));
    });
  }
}

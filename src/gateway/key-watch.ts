import type { WebSocket } from 'ws';
import type { Logger } from '../observability/logger.js';
import { every, type Stoppable } from '../lib/periodic.js';
import type { TenantService } from '../services/tenants.service.js';

/** How often the open sockets' keys are checked against the database (revocations made elsewhere). */
export const SOCKET_KEY_CHECK_MS = 3_000;

/** The close code of a socket whose credentials are refused, as graphql-ws uses it at connection. */
export const FORBIDDEN_CLOSE = 4403;

/**
 * Open sockets by the API key that authenticated them: when that key is revoked, they are closed
 * with 4403. At once for a revocation made on this gateway (`revoked`); within
 * `SOCKET_KEY_CHECK_MS` for one made on another (one query for every open socket's key).
 */
export class SocketKeyWatch {
  private readonly sockets = new Map<WebSocket, string>();
  private readonly loop: Stoppable;

  constructor(
    private readonly tenants: TenantService,
    logger: Logger,
    intervalMs = SOCKET_KEY_CHECK_MS,
  ) {
    this.loop = every(intervalMs, () => this.check(), logger, 'socket-key-check');
  }

  /** The socket's owner calls `remove` when it closes (no listener per socket here: thousands are open). */
  add(socket: WebSocket, keyId: string): void {
    if (socket.readyState === socket.CLOSED) return; // closed while its key was checked: `remove` has run
    this.sockets.set(socket, keyId);
  }

  remove(socket: WebSocket): void {
    this.sockets.delete(socket);
  }

  /** A key was just revoked here: its sockets close now. */
  revoked(keyId: string): void {
    for (const [socket, id] of this.sockets) if (id === keyId) this.close(socket);
  }

  async check(): Promise<void> {
    if (this.sockets.size === 0) return;
    const revoked = await this.tenants.revokedAmong([...this.sockets.values()]);
    if (revoked.size === 0) return;
    for (const [socket, id] of this.sockets) if (revoked.has(id)) this.close(socket);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private close(socket: WebSocket): void {
    this.sockets.delete(socket);
    socket.close(FORBIDDEN_CLOSE, 'Forbidden: API key revoked');
  }
}

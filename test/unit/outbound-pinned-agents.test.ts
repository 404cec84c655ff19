import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LookupAll } from '../../src/lib/outbound/address-policy.js';
import { deliver } from '../../src/lib/outbound/deliver.js';
import { PinnedAgents } from '../../src/lib/outbound/pinned-agents.js';

interface Server {
  port: number;
  /** Requests received, by the local address they arrived on. */
  received: string[];
  connections: number;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A merchant answering 204; `onRequest` may do otherwise (return true when it answered or dropped). */
async function merchant(
  host: string,
  port = 0,
  onRequest?: (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => boolean,
): Promise<Server> {
  const server = http.createServer();
  const state: Server = { port: 0, received: [], connections: 0 };
  const perSocket = new WeakMap<object, number>();
  server.on('connection', () => (state.connections += 1));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const nth = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, nth);
    req.resume();
    req.on('end', () => {
      if (onRequest?.(req, res, nth)) return;
      state.received.push(req.socket.localAddress ?? '');
      res.writeHead(204).end();
    });
  });
  server.listen(port, host);
  await once(server, 'listening');
  state.port = (server.address() as AddressInfo).port;
  closers.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close').catch(() => undefined);
  });
  return state;
}

/** A resolver that answers `sequence[i]` to the i-th question, then the last one for ever. */
function resolver(...sequence: string[][]) {
  const lookup = vi.fn<LookupAll>(async () => {
    const addresses: string[] = sequence[Math.min(lookup.mock.calls.length - 1, sequence.length - 1)];
    return addresses.map((address) => ({ address, family: 4 }));
  });
  return lookup;
}

const BODY = JSON.stringify({ type: 'deposit.status_changed', data: { status: 'COMPLETED' } });

describe('deliver with pinned keep-alive agents', () => {
  it('sends consecutive deliveries to one checked address over one connection', async () => {
    const m = await merchant('127.0.0.1');
    const agents = new PinnedAgents({ maxSockets: 4 });
    try {
      for (let i = 0; i < 5; i++) {
        const outcome = await deliver({
          url: `http://127.0.0.1:${m.port}/hook`,
          headers: { 'webhook-id': `evt_${i}` },
          body: BODY,
          allowPrivate: true,
          agents,
        });
        expect(outcome).toMatchObject({ ok: true, status: 204 });
      }
      expect(m.received).toHaveLength(5);
      expect(m.connections).toBe(1);
    } finally {
      agents.destroy();
    }
  });

  it('connects anew when the name is checked to other addresses: a pooled socket never outlives its check', async () => {
    // Two servers on one port, on two loopback addresses: which one a request reaches says where it connected.
    const first = await merchant('127.0.0.1');
    const second = await merchant('127.0.0.2', first.port);
    const lookup = resolver(['127.0.0.1'], ['127.0.0.1'], ['127.0.0.2']);
    const agents = new PinnedAgents({ maxSockets: 4 });
    try {
      for (let i = 0; i < 3; i++) {
        const outcome = await deliver({
          url: `http://merchant.test:${first.port}/hook`,
          headers: { 'webhook-id': `evt_${i}` },
          body: BODY,
          allowPrivate: true,
          lookup,
          agents,
        });
        expect(outcome).toMatchObject({ ok: true, status: 204 });
      }
      expect(lookup).toHaveBeenCalledTimes(3);
      expect(first.received).toEqual(['127.0.0.1', '127.0.0.1']);
      expect(first.connections).toBe(1);
      expect(second.received).toEqual(['127.0.0.2']);
    } finally {
      agents.destroy();
    }
  });

  it('sends once more on a connection of its own when the endpoint dropped the pooled one', async () => {
    // The second request on any connection is dropped unanswered, as by a server closing an idle socket.
    const m = await merchant('127.0.0.1', 0, (req, _res, nth) => {
      if (nth < 2) return false;
      req.socket.destroy();
      return true;
    });
    const agents = new PinnedAgents({ maxSockets: 1 });
    try {
      const send = (id: string) =>
        deliver({
          url: `http://127.0.0.1:${m.port}/hook`,
          headers: { 'webhook-id': id },
          body: BODY,
          allowPrivate: true,
          agents,
        });
      expect(await send('evt_1')).toMatchObject({ ok: true, status: 204 });
      expect(await send('evt_2')).toMatchObject({ ok: true, status: 204 });
      expect(m.received).toHaveLength(2);
      expect(m.connections).toBe(2);
    } finally {
      agents.destroy();
    }
  });
});

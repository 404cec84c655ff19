import net from 'node:net';

/**
 * A TCP proxy on a free local port, standing between an app and a shared server
 * (PostgreSQL, Redis) so a test can take that server away from one app without
 * touching the server itself.
 */
export interface TcpProxy {
  /** The local port to connect to instead of the target's. */
  port: number;
  /** Destroys every open connection (both sides) and refuses new ones until `restore()`: the server is down. */
  cut(): void;
  /**
   * Keeps every connection open but holds every byte, both ways, until `restore()`: the
   * network stops delivering (as in a partition, where TCP keeps retransmitting) and the
   * server seems to hang. New connections are accepted and held too.
   */
  stall(): void;
  /**
   * Lets connections through again, delivering what a stall held, in order; with
   * `discardHeld`, what was held is lost instead (packets dropped during a partition).
   */
  restore(opts?: { discardHeld?: boolean }): void;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

export async function createTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let refusing = false;
  let stalled = false;
  let held: (() => void)[] = [];

  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      const deliver = () => {
        if (!to.destroyed) to.write(chunk);
      };
      if (stalled) held.push(deliver);
      else deliver();
    });
  };

  const server = net.createServer((client) => {
    if (refusing) {
      // Accepted by the kernel already; a reset is the closest thing to a refusal the client can see.
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    forward(client, upstream);
    forward(upstream, client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no port');

  const dropAll = () => {
    held = [];
    for (const { client, upstream } of pairs) {
      if (!client.destroyed) client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };

  return {
    port: address.port,
    cut() {
      refusing = true;
      stalled = false;
      dropAll();
    },
    stall() {
      stalled = true;
    },
    restore(opts = {}) {
      refusing = false;
      stalled = false;
      const pending = held.splice(0);
      if (!opts.discardHeld) for (const deliver of pending) deliver();
    },
    async close() {
      refusing = true;
      stalled = false;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

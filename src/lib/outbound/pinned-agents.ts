import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

/**
 * Keep-alive connections for merchant webhooks, safe under the address policy. A connection
 * per attempt costs a TCP handshake and teardown on both sides for every delivery (about
 * 0.5 ms of the sidecar's CPU on loopback, more than the rest of the attempt); a pooled
 * socket, though, was connected under an earlier check of the name. So sockets are pooled per
 * origin *and set of checked addresses*: an attempt whose check (made afresh, as before) gives
 * the same addresses may reuse a socket connected to one of them, and any other answer gets an
 * agent, and connections, of its own. A socket never reaches an address the current check did
 * not allow.
 */
export interface PinnedAgentOptions {
  /** Sockets per agent (one origin and address set): the dispatcher's requests in flight per endpoint. */
  maxSockets: number;
  /** An idle socket is closed after this long (below the usual 5 s keep-alive of servers, to not race their close). */
  idleMs?: number;
  /** Agents kept at most; the oldest is closed beyond this (endpoints come and go, and names re-resolve). */
  maxAgents?: number;
}

export class PinnedAgents {
  private readonly agents = new Map<string, http.Agent>();

  constructor(private readonly o: PinnedAgentOptions) {}

  /** The agent for `url` whose connections go to `addresses` (the ones `checkUrl` just allowed). */
  for(url: URL, addresses: readonly string[], lookup: (addresses: readonly string[]) => LookupFunction): http.Agent {
    const key = `${url.protocol}//${url.host}|${[...addresses].sort().join(',')}`;
    const found = this.agents.get(key);
    if (found) {
      // Most recently used last: the oldest is the first evicted.
      this.agents.delete(key);
      this.agents.set(key, found);
      return found;
    }
    const options: http.AgentOptions = {
      keepAlive: true,
      maxSockets: this.o.maxSockets,
      maxFreeSockets: this.o.maxSockets,
      // Destroys sockets idle in the pool this long (Node applies it to free sockets only).
      timeout: this.o.idleMs ?? 4000,
      scheduling: 'lifo',
    };
    const agent =
      url.protocol === 'https:'
        ? new https.Agent({ ...options, lookup: lookup(addresses) } as https.AgentOptions)
        : new http.Agent({ ...options, lookup: lookup(addresses) } as http.AgentOptions);
    this.agents.set(key, agent);
    if (this.agents.size > (this.o.maxAgents ?? 1000)) {
      const [oldestKey, oldest] = this.agents.entries().next().value!;
      this.agents.delete(oldestKey);
      oldest.destroy();
    }
    return agent;
  }

  /** Closes every pooled connection (the dispatcher stops). */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

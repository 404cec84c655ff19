import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

/**
 * Pub/sub of deposit status changes between the relay (sidecar) and the
 * gateways. At most once, like Redis itself: what must not be missed is read
 * back from Postgres (see `services/status-stream.ts`).
 */
export type Listener = (message: string) => void;

export interface StatusBus {
  publish(channel: string, message: string): Promise<void>;
  /** Publishes in order, in one round trip where the transport allows; rejects if any fails. */
  publishAll(messages: readonly { channel: string; message: string }[]): Promise<void>;
  /**
   * Adds a listener; the first one for a channel subscribes it, and the promise settles once
   * the subscription is live (so nothing published afterwards is missed). The returned function
   * removes the listener; the last one out unsubscribes the channel.
   */
  subscribe(channel: string, listener: Listener): Promise<() => void>;
  /** Called after the subscriber connection came back: messages may have been missed meanwhile. */
  onReconnect(listener: () => void): () => void;
  /** Channels with at least one listener (for leak checks and metrics). */
  channelCount(): number;
  close(): Promise<void>;
}

export function tenantChannel(prefix: string, tenantId: string): string {
  return `${prefix}status:tenant:${tenantId}`;
}

export function depositChannel(prefix: string, depositId: string): string {
  return `${prefix}status:deposit:${depositId}`;
}

/** Channels are reference-counted over one subscriber connection per process, never one per subscription. */
abstract class RefCountedBus implements StatusBus {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly pending = new Map<string, Promise<void>>();
  protected readonly reconnect = new EventEmitter();

  abstract publish(channel: string, message: string): Promise<void>;

  async publishAll(messages: readonly { channel: string; message: string }[]): Promise<void> {
    for (const m of messages) await this.publish(m.channel, m.message);
  }

  protected abstract doSubscribe(channel: string): Promise<void>;
  protected abstract doUnsubscribe(channel: string): Promise<void>;
  abstract close(): Promise<void>;

  protected deliver(channel: string, message: string): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    for (const l of set) l(message);
  }

  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      const p = this.doSubscribe(channel);
      this.pending.set(channel, p);
      p.finally(() => this.pending.delete(channel)).catch(() => undefined);
    }
    set.add(listener);
    try {
      await this.pending.get(channel);
    } catch (err) {
      this.remove(channel, listener);
      throw err;
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.remove(channel, listener);
    };
  }

  private remove(channel: string, listener: Listener): void {
    const set = this.listeners.get(channel);
    if (!set) return;
    set.delete(listener);
    if (set.size === 0) {
      this.listeners.delete(channel);
      this.doUnsubscribe(channel).catch(() => undefined);
    }
  }

  onReconnect(listener: () => void): () => void {
    this.reconnect.on('reconnect', listener);
    return () => this.reconnect.off('reconnect', listener);
  }

  channelCount(): number {
    return this.listeners.size;
  }
}

export class RedisStatusBus extends RefCountedBus {
  private wasReady = false;

  /** @param pub a normal client; @param sub a client used only for SUBSCRIBE (ioredis resubscribes it after a reconnect). */
  constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
  ) {
    super();
    this.reconnect.setMaxListeners(0);
    sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
    sub.on('ready', () => {
      if (this.wasReady) this.reconnect.emit('reconnect');
      this.wasReady = true;
    });
    if (sub.status === 'ready') this.wasReady = true;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.pub.publish(channel, message);
  }

  /** One pipeline on one connection: Redis keeps the order, and a batch costs one round trip, not one per message. */
  override async publishAll(messages: readonly { channel: string; message: string }[]): Promise<void> {
    if (messages.length === 0) return;
    const pipeline = this.pub.pipeline();
    for (const m of messages) pipeline.publish(m.channel, m.message);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed || results.length !== messages.length) throw failed?.[0] ?? new Error('redis pipeline incomplete');
  }

  protected async doSubscribe(channel: string): Promise<void> {
    await this.sub.subscribe(channel);
  }

  protected async doUnsubscribe(channel: string): Promise<void> {
    await this.sub.unsubscribe(channel);
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}

/** The embedded default: one process, no Redis. */
export class MemoryStatusBus extends RefCountedBus {
  async publish(channel: string, message: string): Promise<void> {
    queueMicrotask(() => this.deliver(channel, message));
  }

  protected async doSubscribe(): Promise<void> {}
  protected async doUnsubscribe(): Promise<void> {}
  async close(): Promise<void> {}
}

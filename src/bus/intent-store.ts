import type { Redis } from 'ioredis';

/**
 * The pending intent of handling-deposits.txt: written at creation under a key
 * holding the deposit's UUID with a TTL, taken (read and deleted in one step)
 * by the first provider notification. It is the seed's once-only guard;
 * Postgres stays the record that decides (contract rule 2).
 */
export interface DepositIntent {
  depositId: string;
  tenantId: string;
  userId: string;
  currency: string;
  amount: string | null;
  minAmount: string | null;
  maxAmount: string | null;
}

export interface IntentStore {
  put(intent: DepositIntent, ttlSeconds: number): Promise<void>;
  /** Atomic read-and-delete; `null` when absent (expired, already taken, or Redis lost it). */
  take(depositId: string): Promise<DepositIntent | null>;
  ping(): Promise<boolean>;
}

export class RedisIntentStore implements IntentStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(depositId: string): string {
    return `${this.prefix}intent:${depositId}`;
  }

  async put(intent: DepositIntent, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(intent.depositId), JSON.stringify(intent), 'EX', ttlSeconds);
  }

  async take(depositId: string): Promise<DepositIntent | null> {
    const raw = await this.redis.getdel(this.key(depositId));
    return raw ? (JSON.parse(raw) as DepositIntent) : null;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }
}

/** The embedded default: one process, no Redis. Expiry is checked on read. */
export class MemoryIntentStore implements IntentStore {
  private readonly items = new Map<string, { intent: DepositIntent; expiresAt: number }>();

  async put(intent: DepositIntent, ttlSeconds: number): Promise<void> {
    this.items.set(intent.depositId, { intent, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async take(depositId: string): Promise<DepositIntent | null> {
    const item = this.items.get(depositId);
    this.items.delete(depositId);
    return item && item.expiresAt > Date.now() ? item.intent : null;
  }

  async ping(): Promise<boolean> {
    return true;
  }
}

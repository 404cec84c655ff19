import { type Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';

/**
 * Every verified webhook, stored raw before it is acknowledged. The unique
 * (provider, dedupe_key) is the idempotency of delivery.
 */
@Entity({ tableName: 'webhook_inbox' })
@Unique({ name: 'webhook_inbox_dedupe_unique', properties: ['provider', 'dedupeKey'] })
@Index({
  name: 'webhook_inbox_unprocessed_idx',
  expression: 'create index "webhook_inbox_unprocessed_idx" on "webhook_inbox" ("id") where "processed_at" is null',
})
@Index({ name: 'webhook_inbox_provider_received_idx', properties: ['provider', 'receivedAt'] })
export class WebhookInbox {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', length: 32 })
  provider!: string;

  @Property({ type: 'string', length: 255 })
  dedupeKey!: string;

  /** Request headers as received, signature headers included (needed to re-verify; never logged). */
  @Property({ type: 'json' })
  headers!: Record<string, string>;

  /** The raw body, byte for byte (JSON is UTF-8). */
  @Property({ type: 'text' })
  body!: string;

  @Property({ type: 'datetime', defaultRaw: 'current_timestamp' })
  receivedAt!: Opt<Date>;

  @Property({ type: 'datetime', nullable: true })
  processedAt?: Date | null;

  /** applied | unchanged | unmatched | unsupported | failed */
  @Property({ type: 'string', length: 16, nullable: true })
  outcome?: string | null;

  @Property({ type: 'uuid', nullable: true })
  depositId?: string | null;

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  @Property({ type: 'integer', default: 0 })
  attempts!: Opt<number>;
}

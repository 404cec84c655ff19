import type { Orm } from '../db/orm.js';
import type { Logger } from '../observability/logger.js';
import type { ProviderRegistry } from '../webhooks/providers/registry.js';
import { isProviderName } from '../webhooks/providers/provider.js';
import type { EventApplier } from './apply-event.service.js';

interface InboxRow {
  id: string;
  provider: string;
  body: string;
  received_at: Date;
}

/**
 * Applies stored events that the request path did not (the process died after the
 * commit, Postgres blinked between store and apply, ...), and re-applies on demand
 * (`npm run replay`). Acknowledged means stored; this makes stored mean applied.
 */
export class InboxProcessor {
  constructor(
    private readonly orm: Orm,
    private readonly providers: ProviderRegistry,
    private readonly applier: EventApplier,
    private readonly logger: Logger,
  ) {}

  /**
   * Unprocessed rows older than `minAgeMs` (younger ones are still in their request), those
   * tried least first: a batch of events that fail on every attempt must not keep newer ones waiting.
   */
  async processPending(minAgeMs = 2000, batch = 100): Promise<number> {
    const rows = await this.orm.em.fork().execute<InboxRow[]>(
      `select id, provider, body, received_at from webhook_inbox
       where processed_at is null and received_at < now() - make_interval(secs => ?) order by attempts, id limit ?`,
      [minAgeMs / 1000, batch],
    );
    for (const row of rows) await this.applyRow(row, false);
    return rows.length;
  }

  async applyRow(row: InboxRow, force: boolean): Promise<string> {
    const adapter = isProviderName(row.provider) ? this.providers.webhook(row.provider) : undefined;
    if (!adapter) return 'skipped';
    try {
      const event = adapter.parse(Buffer.from(row.body, 'utf8'));
      const r = await this.applier.apply(
        { inboxId: String(row.id), provider: row.provider, receivedAt: new Date(row.received_at), event },
        { force },
      );
      return r.outcome;
    } catch (err) {
      this.logger.warn(
        { inboxId: row.id, provider: row.provider, err: (err as Error).message },
        'stored event not applied',
      );
      await this.orm.em
        .fork()
        .execute('update webhook_inbox set attempts = attempts + 1, error = ? where id = ?', [
          (err as Error).message,
          row.id,
        ])
        .catch(() => undefined);
      return 'failed';
    }
  }

  /** Every stored event of `provider` received since `since`, oldest first, in pages. */
  async *rowsSince(provider: string, since: Date, page = 500): AsyncGenerator<InboxRow[]> {
    let lastId = '0';
    for (;;) {
      const rows = await this.orm.em
        .fork()
        .execute<InboxRow[]>(
          `select id, provider, body, received_at from webhook_inbox where provider = ? and received_at >= ? and id > ? order by id limit ?`,
          [provider, since, lastId, page],
        );
      if (rows.length === 0) return;
      yield rows;
      lastId = String(rows[rows.length - 1].id);
    }
  }

  async countSince(provider: string, since: Date): Promise<number> {
    const rows = await this.orm.em
      .fork()
      .execute<{ n: string }[]>('select count(*) as n from webhook_inbox where provider = ? and received_at >= ?', [
        provider,
        since,
      ]);
    return Number(rows[0].n);
  }
}

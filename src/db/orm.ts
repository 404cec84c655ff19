import { MikroORM, type Options, type PostgreSqlConnection } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { ENTITIES } from '../entities/index.js';
import { MIGRATIONS } from '../entities/migrations/index.js';
import type { Logger } from '../observability/logger.js';

export type Orm = MikroORM;

export interface DbOptions {
  databaseUrl: string;
  poolMax: number;
  /** Every statement is bounded, so a Postgres that hangs becomes an error (and a 503) in seconds. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  applicationName?: string;
}

function ormOptions(db: DbOptions, logger?: Logger): Options {
  return {
    clientUrl: db.databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      path: 'src/entities/migrations',
      pathTs: 'src/entities/migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: db.poolMax, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connectionTimeoutMillis: db.connectTimeoutMs,
      statement_timeout: db.statementTimeoutMs,
      query_timeout: db.statementTimeoutMs + 1000,
      application_name: db.applicationName ?? 'deposit-gateway',
      onPoolCreated: discardTimedOutClients,
    },
    // Entities are listed above: no folder discovery, no ts-morph.
    discovery: { warnWhenNoEntities: true },
    allowGlobalContext: false,
    debug: false,
    colors: false,
    // The ORM's own messages (migrator progress, pool warnings) go to our JSON log.
    logger: (message: string) => logger?.debug({ orm: message }, 'orm'),
  };
}

/**
 * `pg` hands a client whose query hit `query_timeout` back to the pool still waiting for
 * that reply. If the reply was lost (a partition that dropped packets), every later
 * statement on it waits and times out too, for as long as TCP takes to give up (minutes).
 * Such a client is destroyed instead, so the pool replaces it at once.
 */
function discardTimedOutClients(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        result.catch((err: unknown) => {
          if ((err as Error)?.message === 'Query read timeout') {
            (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
          }
        });
      }
      return result;
    };
  });
}

export async function createOrm(db: DbOptions, logger?: Logger): Promise<Orm> {
  return MikroORM.init(ormOptions(db, logger));
}

/** The pool MikroORM manages (same limits and timeouts): the stores speak SQL to it directly. */
export function poolOf(orm: Orm): Promise<pg.Pool> {
  return (orm.em.getConnection() as PostgreSqlConnection).getNativeClient();
}

/** Any constant shared by every process of the deployment: the key of the migration advisory lock. */
const MIGRATION_LOCK_KEY = 7_301_914_401;

/**
 * Applies pending migrations under a Postgres advisory lock held on a dedicated
 * connection, so any number of processes may start at once: one migrates, the
 * others wait and then find nothing pending.
 */
export async function migrate(orm: Orm, db: DbOptions, logger: Logger): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.databaseUrl, connectionTimeoutMillis: db.connectTimeoutMs });
  client.on('error', (err) => logger.warn({ err: err.message }, 'migration lock connection error'));
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await orm.migrator.up();
    const names = applied.map((m) => m.name);
    if (names.length > 0) logger.info({ migrations: names }, 'migrations applied');
    return names;
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

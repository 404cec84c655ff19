import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateDepositDocument, DepositDocument, DepositsDocument } from '../generated/graphql.js';
import { uniqueName } from '../utils/harness.js';
import { gqlAt, spawnApp, type AppProcess, type SpawnOptions } from '../utils/processes.js';

/**
 * Issue 8, item 7: `npm start` on its embedded PostgreSQL, as real processes. A hard kill, or a
 * second `npm start` in the same checkout, must never leave every later start failing with a bare
 * `start failed`: it starts, or it says in one line why not and what to do.
 */

interface LogLine {
  level: number;
  msg: string;
}

const run = promisify(execFile);

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The pid in `postmaster.pid`: the PostgreSQL running (or last run) on the data directory. */
function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : undefined;
}

/** Alive and not a zombie (an orphan's parent may be slow to reap it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start on the embedded PostgreSQL', () => {
  let root: string;
  const running = new Set<AppProcess>();
  const dataDirs: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dgw-embedded-'));
    // Run as root, PostgreSQL runs as the user `postgres`, which must reach its directory.
    await chmod(root, 0o755);
  });
  afterAll(async () => {
    for (const p of running) await p.stop(5000);
    // Whatever a failed test left running on its data directory.
    for (const dir of dataDirs) {
      const pid = postmasterPid(dir);
      if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
    }
    await rm(root, { recursive: true, force: true });
  });

  const newDataDir = (label: string) => {
    const dir = path.join(root, label, 'postgres');
    dataDirs.push(dir);
    return dir;
  };

  /** `npm start` as a developer runs it: no DATABASE_URL, no REDIS_URL. */
  const start = async (dataDir: string, o: Partial<SpawnOptions> = {}) => {
    const p = await spawnApp('all', {
      prefix: `test:${uniqueName('embedded')}:`,
      readyTimeoutMs: 90_000,
      ...o,
      env: { EMBEDDED_PG_DIR: dataDir, REDIS_URL: '', LOG_LEVEL: 'info', ...o.env },
    });
    running.add(p);
    return p;
  };

  const stop = async (p: AppProcess) => {
    const code = await p.stop();
    running.delete(p);
    return code;
  };

  const createDeposit = async (gatewayUrl: string) => {
    const r = await gqlAt(gatewayUrl, CreateDepositDocument, {
      input: { userId: 'embedded-user', currency: 'USD', amount: '3' },
    });
    expect(r.errors).toBeUndefined();
    return r.data!.createDeposit.deposit.id;
  };

  it('starts again after kill -9 of npm start, saying what it did with the PostgreSQL the killed run left', async () => {
    const dataDir = newDataDir('killed');
    const first = await start(dataDir);
    const id = await createDeposit(first.gatewayUrl);
    const orphan = postmasterPid(dataDir)!;
    process.kill(first.pid, 'SIGKILL');
    await first.waitForExit();
    running.delete(first);
    // The situation of the issue: the app is gone, its PostgreSQL still runs on the directory.
    expect(alive(orphan)).toBe(true);

    const second = await start(dataDir);
    const said = logLines(second.output()).find((l) => l.msg.includes(`(pid ${orphan})`));
    expect(said?.msg).toMatch(/EMBEDDED_PG_DIR/);
    // Nothing of the first run is lost.
    const read = await gqlAt(second.gatewayUrl, DepositDocument, { id });
    expect(read.data!.deposit).toMatchObject({ id, status: 'PENDING' });
    expect(await createDeposit(second.gatewayUrl)).toBeTruthy();

    expect(await stop(second)).toBe(0);
    // And nothing is left running on the directory afterwards.
    expect(alive(orphan)).toBe(false);
    expect(postmasterPid(dataDir)).toBeUndefined();
  }, 240_000);

  it('starts again after the app and its PostgreSQL were both killed (a stale postmaster.pid)', async () => {
    const dataDir = newDataDir('both-killed');
    const first = await start(dataDir);
    await createDeposit(first.gatewayUrl);
    const postgres = postmasterPid(dataDir)!;
    process.kill(first.pid, 'SIGKILL');
    process.kill(postgres, 'SIGKILL');
    await first.waitForExit();
    running.delete(first);
    await until('the killed PostgreSQL to be gone', () => !alive(postgres));
    expect(postmasterPid(dataDir)).toBe(postgres);

    const second = await start(dataDir);
    expect(await createDeposit(second.gatewayUrl)).toBeTruthy();
    expect(await stop(second)).toBe(0);
  }, 240_000);

  it('refuses a second npm start on the same directory in one line naming the first, which keeps running', async () => {
    const dataDir = newDataDir('twice');
    const first = await start(dataDir);
    const refused = await start(dataDir).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(refused).toContain('exited with code 1');
    const fatal = logLines(refused ?? '').filter((l) => l.level >= 50);
    expect(fatal).toHaveLength(1);
    expect(fatal[0].level).toBe(60);
    expect(fatal[0].msg).toMatch(
      new RegExp(
        `^start failed: another process \\(pid ${first.pid}\\) is using EMBEDDED_PG_DIR .*; stop it or set EMBEDDED_PG_DIR`,
      ),
    );
    // The refused start did not touch the first one's database.
    expect((await fetch(`${first.gatewayUrl}/readyz`)).status).toBe(200);
    expect(await createDeposit(first.gatewayUrl)).toBeTruthy();
    expect(await stop(first)).toBe(0);
  }, 240_000);

  it('stops on Ctrl-C without a warning, its PostgreSQL last, exit code 0', async () => {
    const dataDir = newDataDir('ctrl-c');
    const app = await start(dataDir, { detached: true });
    await createDeposit(app.gatewayUrl);
    const postgres = postmasterPid(dataDir)!;
    // A terminal's Ctrl-C: SIGINT to the whole process group of `npm start`.
    process.kill(-app.pid, 'SIGINT');
    expect(await app.waitForExit()).toBe(0);
    running.delete(app);
    const lines = logLines(app.output());
    const from = lines.findIndex((l) => l.msg === 'shutting down');
    expect(from).toBeGreaterThanOrEqual(0);
    expect(lines.slice(from).filter((l) => l.level >= 40)).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('stopped');
    expect(alive(postgres)).toBe(false);
    expect(postmasterPid(dataDir)).toBeUndefined();
  }, 240_000);

  it('lets tenant:create use the database of the running npm start', async () => {
    const dataDir = newDataDir('cli');
    const app = await start(dataDir);
    const out = await run('node_modules/.bin/tsx', ['src/cli/tenant-create.ts', 'embedded-cli'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, EMBEDDED_PG_DIR: dataDir },
      timeout: 60_000,
    });
    const key = /api key: +(\S+)/.exec(out.stdout)?.[1];
    expect(key).toMatch(/^dgw_/);
    // The running app knows the new key: the command wrote to its database, without starting another.
    const r = await gqlAt(app.gatewayUrl, DepositsDocument, { first: 1 }, key);
    expect(r.errors).toBeUndefined();
    expect(out.stderr).toBe('');
    expect(await stop(app)).toBe(0);
  }, 240_000);

  it('says why when it cannot start at all, in the one line it writes', async () => {
    const blocked = path.join(root, 'a-file');
    await writeFile(blocked, 'not a directory');
    const refused = await start(path.join(blocked, 'postgres')).then(
      () => undefined,
      (err: Error) => err.message,
    );
    const fatal = logLines(refused ?? '').filter((l) => l.level >= 50);
    expect(fatal).toHaveLength(1);
    // The system's reason (EEXIST or ENOTDIR: a file is in the way), where, and what to do.
    expect(fatal[0].msg).toMatch(/^start failed: .*EMBEDDED_PG_DIR \(.*a-file.*\): E[A-Z]+: .*; set EMBEDDED_PG_DIR/);
  }, 120_000);
});

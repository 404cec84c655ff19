import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Plumbing shared by the orchestrator (`bench/run.ts`) and its load processes:
 * spawning Node children (the app and the load generators), talking to them
 * over IPC, killing them, and the small statistics every scenario needs.
 */

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The project's Node (the `node` package in node_modules), whatever `node` is first on the PATH. */
export const NODE_BIN = existsSync(`${ROOT}node_modules/node/bin/node`)
  ? `${ROOT}node_modules/node/bin/node`
  : process.execPath;

// ---------------------------------------------------------------- statistics

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of a list of milliseconds. */
export function summarize(values: number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const at = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]);
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, p50: at(50), p95: at(95), p99: at(99), max: n ? sorted[n - 1] : NaN, mean: n ? sum / n : NaN };
}

/** Milliseconds on a clock every process of this machine shares (for cross-process latencies). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- IPC between orchestrator and load processes

export interface Message {
  type: string;
  [k: string]: unknown;
}

/** In a load process: the next message of `type` from the orchestrator. */
export function receive<T extends Message>(type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Message) => {
      if (m?.type !== type) return;
      process.off('message', on);
      resolve(m as T);
    };
    process.on('message', on);
  });
}

/** In a load process: send to the orchestrator (resolves once handed to the channel). */
export function reply(m: Message): Promise<void> {
  return new Promise((resolve, reject) => process.send!(m, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

/** Runs a load process's main: errors go to the orchestrator, then the channel is closed so the process can end. */
export function runTool(main: () => Promise<void>): void {
  main()
    .catch(async (err: unknown) => {
      await reply({ type: 'error', message: (err as Error).stack ?? String(err) }).catch(() => undefined);
      process.exitCode = 1;
    })
    .finally(() => {
      if (process.connected) process.disconnect();
    });
}

// ---------------------------------------------------------------- child processes

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Extra `node` flags (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** stdout and stderr go to this file; else they are inherited. */
  logFile?: string;
  /** Open an IPC channel (load processes). */
  ipc?: boolean;
  /** Working directory (tsx reads its tsconfig from there); the repository by default. */
  cwd?: string;
}

/**
 * A Node child running a TypeScript file through tsx's loader (`node --import tsx`),
 * so its pid is the Node process itself (RSS is read from it, signals reach it).
 * Started through `bash -c 'ulimit -Sn <hard>; exec ...'`: the soft limit of open
 * files is raised to the hard one (10,000 sockets need it), and `exec` keeps the pid.
 */
export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private readonly inbox: Message[] = [];
  private readonly waiters: { type: string; resolve: (m: Message) => void }[] = [];
  private failure?: Error;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    o: SpawnOptions = {},
  ) {
    const out = o.logFile ? openSync(o.logFile, 'a') : undefined;
    const stdio: ('ignore' | 'inherit' | 'ipc' | number)[] = ['ignore', out ?? 'inherit', out ?? 'inherit'];
    if (o.ipc) stdio.push('ipc');
    this.proc = spawn(
      'bash',
      [
        '-c',
        'ulimit -Sn "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"',
        NODE_BIN,
        ...(o.nodeArgs ?? []),
        '--import',
        'tsx',
        script,
        ...args,
      ],
      { cwd: o.cwd ?? ROOT, env: { ...process.env, ...o.env }, stdio },
    );
    if (out !== undefined) closeSync(out);
    children.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        children.delete(this);
        const err = new Error(`${name} exited (code ${code}, signal ${signal})`);
        this.failure ??= err;
        for (const w of this.waiters.splice(0)) w.resolve({ type: 'exit', code });
        resolve(code);
      });
    });
    // Spawn and IPC failures arrive as 'error' events: recorded (the next `next()` rejects), never thrown.
    this.proc.on('error', (err) => {
      this.failure ??= new Error(`${name}: ${err.message}`);
    });
    this.proc.on('message', (m: Message) => {
      if (m.type === 'error') this.failure = new Error(`${name}: ${String(m.message)}`);
      const i = this.waiters.findIndex((w) => w.type === m.type || m.type === 'error');
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      else this.inbox.push(m);
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends if the channel is still open (a load process closes it once it has reported). */
  send(m: Message): void {
    if (this.proc.connected) this.proc.send(m);
  }

  /** The next message of `type`; rejects if the child reports an error or exits first, or after `timeoutMs`. */
  async next<T extends Message>(type: string, timeoutMs = 120_000): Promise<T> {
    const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
    let m: Message;
    if (i >= 0) m = this.inbox.splice(i, 1)[0];
    else if (!this.running) throw this.failure ?? new Error(`${this.name} is not running`);
    else {
      let timer: NodeJS.Timeout | undefined;
      m = await Promise.race([
        new Promise<Message>((resolve) => this.waiters.push({ type, resolve })),
        new Promise<Message>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    if (m.type === 'error' || m.type === 'exit') throw this.failure ?? new Error(`${this.name} failed`);
    return m as T;
  }

  /** SIGTERM (a clean shutdown: the app closes its pools, `--cpu-prof` writes its file), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.proc.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const children = new Set<Child>();

/** Every child still running, stopped at once (used on exit and on failure). */
export async function stopAllChildren(graceMs = 10_000): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(graceMs)));
}

/** Kills what is left without waiting: the last resort of a process that is exiting now. */
export function killAllChildrenNow(): void {
  for (const c of children) if (c.running) c.proc.kill('SIGKILL');
}

// ---------------------------------------------------------------- the app's HTTP faces

/** Polls `GET {url}/readyz` until 200, failing early if the process died. */
export async function waitReady(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) throw new Error(`${child.name} exited before it was ready`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${child.name} not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One sample of a Prometheus gauge or counter (summed over its label sets). */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Resident set size of a process, in bytes (`VmRSS` of /proc/<pid>/status), and its peak (`VmHWM`). */
export function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat; 0 once it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;

/**
 * CPU used by a set of processes between `start()` and `stop()`: the given pids plus
 * whatever `morePids()` lists at either moment (e.g. the Postgres backends of one database).
 */
export class CpuMeter {
  private readonly before = new Map<number, number>();
  constructor(private readonly pids: () => Promise<number[]>) {}

  async start(): Promise<void> {
    for (const pid of await this.pids()) this.before.set(pid, cpuMs(pid));
  }

  /** Milliseconds of CPU used since `start()` by the processes alive now. */
  async stop(): Promise<number> {
    let total = 0;
    for (const pid of await this.pids()) total += cpuMs(pid) - (this.before.get(pid) ?? 0);
    return total;
  }
}

/**
 * Runs an autocannon instance to its end and times it up to the last answer: autocannon ends
 * a run on its own 1-second tick, which would count idle time into the rate.
 * @param latencies receives the latency (ms) of every 200 answer.
 */
export async function timedAutocannon<R>(
  instance: PromiseLike<R> & { on(event: 'response', fn: (...args: any[]) => void): unknown },
  latencies: number[],
): Promise<{ result: R; durationS: number }> {
  const started = performance.now();
  let lastAnswer = started;
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    lastAnswer = performance.now();
    if (status === 200) latencies.push(ms);
  });
  const result = await instance;
  return { result, durationS: (lastAnswer - started) / 1000 };
}

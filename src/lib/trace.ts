/**
 * Status tracing (`STATUS_TRACE=1`): where the time of one status change goes, from the
 * webhook that caused it to the socket of its subscriber. Off by default, and then it costs
 * nothing: no field is added to any message and no hook is installed.
 *
 * On, every published status change carries a `trace` object of wall-clock times (ms since
 * the epoch, `performance.timeOrigin + performance.now()`, a clock every process of the
 * machine shares), one per stage, and the subscription's `next` message carries it in its
 * `extensions` (the GraphQL spec allows `extensions` on a result). A diagnostic: the
 * configuration parses it, the composition root switches it on here, and only the
 * components that stamp read it, so no other code path changes.
 */

/** The stages, in the order one status change passes them. Absent: that stage ran in a process that did not see it. */
export interface StatusTrace {
  /** The sidecar's route got the webhook (body read). */
  received?: number;
  /** Its transaction committed (the applier answered the intake). */
  committed?: number;
  /** The relay sent the statement that sequences and reads the change. */
  relayQuery?: number;
  /** The relay has the change (the statement answered). */
  relayed?: number;
  /** The change, serialized, was handed to the Redis pipeline (PUBLISH). */
  published?: number;
  /** The gateway's Redis subscriber got it. */
  gateway?: number;
  /** graphql-ws is about to serialize the `next` message and write it to the socket. */
  written?: number;
}

/** The stages in order, as the benchmark reports them. */
export const TRACE_STAGES = [
  'received',
  'committed',
  'relayQuery',
  'relayed',
  'published',
  'gateway',
  'written',
] as const satisfies readonly (keyof StatusTrace)[];

/** A shared wall clock, in ms (the same expression as bench/common.ts `wallMs`). */
export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

let enabled = false;

/** Set once by the composition root from the configuration (`STATUS_TRACE`), before the components are made. */
export function setStatusTrace(on: boolean): void {
  enabled = on;
}

/** Whether status changes are traced in this process (read by the components that stamp, when they are made). */
export function statusTraceEnabled(): boolean {
  return enabled;
}

/** How many changes may wait between commit and relay; beyond it the oldest are forgotten (traced without those stages). */
const MAX_PENDING = 20_000;

/**
 * The sidecar's stamps of a change (received, committed), from the intake to the relay.
 * In one process (the sidecar runs its relay, as in the benchmark), so a bounded map is
 * enough, keyed by deposit and new status (statuses only move forward: one change each).
 * When the relay runs elsewhere (another sidecar holds the leader lock) it finds nothing here
 * and the trace starts at `relayQuery`; the change is delivered all the same.
 */
class SidecarStamps {
  private readonly pending = new Map<string, { received: number; committed: number }>();

  record(depositId: string, status: string, received: number, committed: number): void {
    if (this.pending.size >= MAX_PENDING) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
    }
    this.pending.set(`${depositId}|${status}`, { received, committed });
  }

  /** The stamps of a change, once: the relay takes them. */
  take(depositId: string, status: string): { received: number; committed: number } | undefined {
    const key = `${depositId}|${status}`;
    const s = this.pending.get(key);
    if (s) this.pending.delete(key);
    return s;
  }

  size(): number {
    return this.pending.size;
  }
}

/** One per process: the intake and the relay of a sidecar meet here. */
export const sidecarStamps = new SidecarStamps();

/** Something running in the background until it is stopped. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** Where a failed run is reported: the app's logger (any pino logger fits). */
export interface TaskLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Runs `task` every `intervalMs` (never overlapping itself), logging failures, until stopped. */
export function every(intervalMs: number, task: () => Promise<unknown>, logger: TaskLogger, name: string): Stoppable {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    running = task()
      .catch((err: unknown) => logger.warn({ task: name, err: (err as Error).message }, 'background task failed'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { traceNow, type StatusTrace } from '../lib/trace.js';

/**
 * The socket's two hooks under `STATUS_TRACE=1` (`lib/trace.ts`); without it graphql-ws runs
 * graphql's own `subscribe` and no `onNext`.
 *
 * `subscribe` is graphql's (the source stream, each event executed with the event as root
 * value), except that a result whose event carries a `trace` gets it in `extensions`: the
 * field resolvers only see the event, and `onNext` only the result. `onNext` then stamps
 * `written`, the moment graphql-ws serializes the message and writes it to the socket.
 */
export async function tracedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const events = source[Symbol.asyncIterator]();
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const e = await events.next();
      if (e.done) return { done: true, value: undefined };
      const event = e.value as { trace?: StatusTrace } | null;
      const result = await execute({ ...args, rootValue: event });
      if (event?.trace) result.extensions = { ...result.extensions, trace: event.trace };
      return { done: false, value: result };
    },
    // Passed through at once (not after the pending `next`): the subscription's cleanup runs when the client leaves.
    async return() {
      await events.return?.();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await events.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return results;
}

/** graphql-ws `onNext`: the last stamp, on a result that has a trace. */
export function stampWritten(
  _ctx: unknown,
  _id: string,
  _payload: unknown,
  _args: unknown,
  result: ExecutionResult,
): void {
  const trace = result.extensions?.trace as StatusTrace | undefined;
  if (trace) trace.written = traceNow();
}

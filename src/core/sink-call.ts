// A call's wait for its sink, whatever the sink type (built-in or plug-in):
// bounded by --sink-write-timeout from the moment the call asks for its sink
// (opening it, room in its buffer, the write itself), counted, and reported
// to health. A sink that honours the abort signal also takes back records it
// has not started writing, so a call that timed out leaves none of them.
import type { Sink, SinkSpec } from '../sinks/sink.js';
import { SinkError, WRITE_DEADLINE } from '../sinks/sink.js';
import type { Handler, HandlerTable } from './handler-table.js';
import type { MetricEvents } from '../observe/metric-events.js';
import type { SinkHealth } from './sink-health.js';
import { DeadlineBuckets } from './deadline-buckets.js';

export const DEFAULT_SINK_WRITE_TIMEOUT_MS = 4_000;

/** The sink did not take a call's records within --sink-write-timeout. */
export class SinkTimeoutError extends SinkError {
  override name = 'SinkTimeoutError';
  constructor(message: string) {
    super(message, WRITE_DEADLINE);
  }
}

function destination(spec: SinkSpec): string {
  return spec.path === '' ? `${spec.type} sink` : `${spec.type} sink ${spec.path}`;
}

/** What a window's signal aborts with; each call then reports its own destination. */
class WindowExpired extends Error {
  override name = 'WindowExpired';
}

/** How calls wait for sinks and what happens when a decision record cannot be kept (one per server). */
export class SinkCalls {
  /** Longest a call waits for its sink to take its records (--sink-write-timeout). */
  readonly writeTimeoutMs: number;
  /** Fail a check whose decision record cannot be written (--strict-decision-records). */
  readonly strictDecisionRecords: boolean;
  /** Sinks that cannot write, for health; undefined: not tracked. */
  readonly health: SinkHealth | undefined;
  /** The deadlines the calls of one window share. */
  readonly deadlines: DeadlineBuckets;

  constructor(options: { writeTimeoutMs: number; strictDecisionRecords: boolean; health?: SinkHealth | undefined }) {
    this.writeTimeoutMs = options.writeTimeoutMs;
    this.strictDecisionRecords = options.strictDecisionRecords;
    this.health = options.health;
    this.deadlines = new DeadlineBuckets(options.writeTimeoutMs, () => new WindowExpired('sink write deadline'));
  }
}

/** The part of the core's context a sink call uses (CoreContext has it). */
export interface SinkCallContext {
  handlers: HandlerTable;
  metrics: MetricEvents;
  sinkCalls: SinkCalls;
}

/** What to do with a sink call's failure instead of rejecting (the decision record's policy). */
export type SinkCallFailed<C> = (ctx: C, handler: Handler, err: unknown) => void;

/**
 * Runs `write(sink, signal, arg)` against the handler's sink; rejects with
 * SinkTimeoutError once the policy's timeout passes (plus at most one
 * deadline window, see deadline-buckets.ts), whatever the sink is doing.
 * With `failed`, a failure goes to it instead (it may throw) and the call
 * resolves.
 *
 * One async function per call: the write's own function takes `arg` (no
 * closure per call), an open sink is used as it is (HandlerTable.openSink),
 * and `failed` spares the decision record a wrapper of its own; each async
 * layer costs ~0.4 KB of heap per call.
 */
export async function writeToSink<C extends SinkCallContext, A>(
  ctx: C,
  handler: Handler,
  write: (sink: Sink, signal: AbortSignal, arg: A) => Promise<void>,
  arg: A,
  failed?: SinkCallFailed<C>,
): Promise<void> {
  const policy = ctx.sinkCalls;
  const spec = handler.sinkSpec;
  const deadline = policy.deadlines.enter();
  // The call's own reference on the sink when it is open; else withSink opens it.
  const sink = ctx.handlers.openSink(handler);
  let work: Promise<void> | undefined;
  let timedOut = false;
  try {
    work =
      sink === undefined
        ? ctx.handlers.withSink(handler, (opened) => write(opened, deadline.signal, arg))
        : write(sink, deadline.signal, arg);
    await deadline.race(work);
    policy.health?.written(spec);
  } catch (caught) {
    // The call's own deadline, or a sink that enforces the same timeout on
    // its backend (plug-ins) and gave up first: either way the sink stalled.
    timedOut = caught === deadline.reason || (caught instanceof SinkError && caught.code === WRITE_DEADLINE);
    const err =
      timedOut && !(caught instanceof SinkTimeoutError)
        ? new SinkTimeoutError(
            `records not written within --sink-write-timeout ${policy.writeTimeoutMs} ms: ${destination(spec)} is stalled`,
          )
        : caught;
    if (err instanceof SinkTimeoutError) ctx.metrics.sinkWriteTimedOut(spec);
    if (err instanceof SinkError) policy.health?.failed(spec);
    if (failed === undefined) throw err;
    failed(ctx, handler, err);
  } finally {
    deadline.leave();
    // The reference goes back when the write has settled: at once, unless the
    // deadline passed first and the write may still be under way.
    if (sink !== undefined) {
      if (timedOut && work !== undefined) {
        const release = (): void => ctx.handlers.releaseSink(handler);
        work.then(release, release);
      } else {
        ctx.handlers.releaseSink(handler);
      }
    }
  }
}

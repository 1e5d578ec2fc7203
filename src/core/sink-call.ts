// A call's wait for its sink, whatever the sink type (built-in or plug-in):
// bounded by --sink-write-timeout from the moment the call asks for its sink
// (opening it, room in its buffer, the write itself), counted, and reported
// to health. A sink that honours the abort signal also takes back records it
// has not started writing, so a call that timed out leaves none of them.
import type { Sink, SinkSpec } from '../sinks/sink.js';
import { SinkError, WRITE_DEADLINE } from '../sinks/sink.js';
import type { Handler } from './handler-table.js';
import type { ServiceContext, SinkCallPolicy } from './service-context.js';
import { DeadlineBuckets } from './deadline-buckets.js';

export type { SinkCallPolicy } from './service-context.js';

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

/** The shared deadlines of each policy (one per server). */
const deadlinesOf = new WeakMap<SinkCallPolicy, DeadlineBuckets>();

/** What a window's signal aborts with; each call then reports its own destination. */
class WindowExpired extends Error {
  override name = 'WindowExpired';
}

function deadlines(policy: SinkCallPolicy): DeadlineBuckets {
  let buckets = deadlinesOf.get(policy);
  if (buckets === undefined) {
    buckets = new DeadlineBuckets(policy.writeTimeoutMs, () => new WindowExpired('sink write deadline'));
    deadlinesOf.set(policy, buckets);
  }
  return buckets;
}

/**
 * Runs `write` against the handler's sink; rejects with SinkTimeoutError
 * once the policy's timeout passes (plus at most one deadline window, see
 * deadline-buckets.ts), whatever the sink is doing.
 */
export async function writeToSink(
  ctx: ServiceContext,
  handler: Handler,
  write: (sink: Sink, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const policy = ctx.sinkCalls;
  const spec = handler.sinkSpec;
  const deadline = deadlines(policy).enter();
  try {
    await deadline.race(ctx.handlers.withSink(handler, (sink) => write(sink, deadline.signal)));
    policy.health?.written(spec);
  } catch (caught) {
    // The call's own deadline, or a sink that enforces the same timeout on
    // its backend (plug-ins) and gave up first: either way the sink stalled.
    const timedOut = caught === deadline.reason || (caught instanceof SinkError && caught.code === WRITE_DEADLINE);
    const err =
      timedOut && !(caught instanceof SinkTimeoutError)
        ? new SinkTimeoutError(
            `records not written within --sink-write-timeout ${policy.writeTimeoutMs} ms: ${destination(spec)} is stalled`,
          )
        : caught;
    if (err instanceof SinkTimeoutError) ctx.metrics.sinkWriteTimedOut(spec);
    if (err instanceof SinkError) policy.health?.failed(spec);
    throw err;
  } finally {
    deadline.leave();
  }
}

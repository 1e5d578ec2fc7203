// A call's wait for its sink, whatever the sink type (built-in or plug-in):
// bounded by --sink-write-timeout from the moment the call asks for its sink
// (opening it, room in its buffer, the write itself), counted, and reported
// to health. A sink that honours the abort signal also takes back records it
// has not started writing, so a call that timed out leaves none of them.
import type { Sink, SinkSpec } from '../sinks/sink.js';
import { SinkError, WRITE_DEADLINE } from '../sinks/sink.js';
import type { Handler } from './handler-table.js';
import type { ServiceContext } from './service-context.js';

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

/**
 * Runs `write` against the handler's sink; rejects with SinkTimeoutError
 * once the policy's timeout passes, whatever the sink is doing.
 */
export async function writeToSink(
  ctx: ServiceContext,
  handler: Handler,
  write: (sink: Sink, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const { writeTimeoutMs, health } = ctx.sinkCalls;
  const spec = handler.sinkSpec;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new SinkTimeoutError(
        `records not written within --sink-write-timeout ${writeTimeoutMs} ms: ${destination(spec)} is stalled`,
      );
      controller.abort(err);
      reject(err);
    }, writeTimeoutMs);
  });
  try {
    await Promise.race([ctx.handlers.withSink(handler, (sink) => write(sink, controller.signal)), expired]);
    health?.written(spec);
  } catch (err) {
    if (err instanceof SinkTimeoutError) ctx.metrics.sinkWriteTimedOut(spec);
    if (err instanceof SinkError) health?.failed(spec);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

// The Mixer handle services' shared context, and how each call is answered.
import { status, type sendUnaryData } from '@grpc/grpc-js';
import { NO_METRICS } from '../../observe/metric-events.js';
import type { CoreContext } from '../../core/context.js';
import type { DecodePool } from './decode-pool.js';
import { toCallError } from '../../core/status.js';

/** What the Mixer handle services share: the core's context and the decode workers. */
export interface ServiceContext extends CoreContext {
  /** Worker threads for large metric batches; undefined: everything on the main thread. */
  decodePool?: DecodePool | undefined;
}

// How each call is answered, in the steps a service's one async function per
// call takes (an answer() wrapping the work would be a second async layer,
// ~0.4 KB of heap per call): callStarted(), then answered() with the result
// or failed() with what went wrong, exactly once; a service never lets a
// rejection escape.

/** When a call started, for its duration metric; without metrics nobody reads it: no clock read. */
export function callStarted(ctx: ServiceContext): bigint {
  return ctx.metrics === NO_METRICS ? 0n : process.hrtime.bigint();
}

/** Answers `result`. */
export function answered<T>(
  ctx: ServiceContext,
  method: string,
  callback: sendUnaryData<T>,
  started: bigint,
  result: T,
): void {
  ctx.metrics.callFinished(method, 'OK', secondsSince(started));
  callback(null, result);
}

/**
 * Answers the status that says what went wrong, also logged (the same
 * failure repeated within an interval is one line with a count).
 */
export function failed<T>(
  ctx: ServiceContext,
  method: string,
  callback: sendUnaryData<T>,
  started: bigint,
  err: unknown,
): void {
  const callError = toCallError(err);
  const codeName = status[callError.code];
  ctx.metrics.callFinished(method, codeName, secondsSince(started));
  ctx.notes.note('warn', `${method} failed (${codeName}): ${callError.details}`, { method, code: callError.code });
  callback(callError);
}

function secondsSince(started: bigint): number {
  return started === 0n ? 0 : Number(process.hrtime.bigint() - started) / 1e9;
}

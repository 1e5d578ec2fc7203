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

/**
 * Runs one call's work and answers exactly once: the result, or the status
 * that says what went wrong (also logged: the same failure repeated within
 * an interval is one line with a count). Never lets a rejection escape.
 */
export function answer<T>(
  ctx: ServiceContext,
  method: string,
  callback: sendUnaryData<T>,
  work: () => Promise<T>,
): void {
  // Without metrics nobody reads the duration: no clock reads per call.
  const started = ctx.metrics === NO_METRICS ? 0n : process.hrtime.bigint();
  const seconds = () => (started === 0n ? 0 : Number(process.hrtime.bigint() - started) / 1e9);
  work().then(
    (result) => {
      ctx.metrics.callFinished(method, 'OK', seconds());
      callback(null, result);
    },
    (err: unknown) => {
      const callError = toCallError(err);
      const codeName = status[callError.code];
      ctx.metrics.callFinished(method, codeName, seconds());
      ctx.notes.note('warn', `${method} failed (${codeName}): ${callError.details}`, { method, code: callError.code });
      callback(callError);
    },
  );
}

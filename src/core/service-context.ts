import { status, type sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import { NO_METRICS, type MetricEvents } from '../observe/metric-events.js';
import type { RepeatLog } from '../observe/repeat-log.js';
import type { DecodePool } from '../frontends/mixer/decode-pool.js';
import type { IsoClock } from './clock.js';
import type { HandlerTable } from './handler-table.js';
import type { SinkHealth } from './sink-health.js';
import { toCallError } from './status.js';

/** How calls wait for sinks and what happens when a decision record cannot be kept. */
export interface SinkCallPolicy {
  /** Longest a call waits for its sink to take its records (--sink-write-timeout). */
  writeTimeoutMs: number;
  /** Fail a check whose decision record cannot be written (--strict-decision-records). */
  strictDecisionRecords: boolean;
  /** Sinks that cannot write, for health; undefined: not tracked. */
  health?: SinkHealth | undefined;
}

/** What the handle-service implementations share. */
export interface ServiceContext {
  handlers: HandlerTable;
  log: Logger;
  metrics: MetricEvents;
  /** Per-call log lines (failures, refusals, denies, lost decision records), repeats summed per interval. */
  notes: RepeatLog;
  /** The current time as records carry it (RFC 3339). */
  receivedAt: IsoClock;
  /** Worker threads for large metric batches; undefined: everything on the main thread. */
  decodePool?: DecodePool | undefined;
  /** Most memory one call may take to decode and format (estimated before decoding); more is RESOURCE_EXHAUSTED. */
  maxDecodeBytes: number;
  /** Write deadline, decision-record policy and sink health. */
  sinkCalls: SinkCallPolicy;
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

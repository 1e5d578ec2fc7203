// What the core needs from whoever calls it, whatever the protocol: the
// handler table, logging and metrics, the clock records carry, the per-call
// decode bound and the sink-call policy. Front-ends extend it with their own.
import type { Logger } from '../log.js';
import type { MetricEvents } from '../observe/metric-events.js';
import type { RepeatLog } from '../observe/repeat-log.js';
import type { IsoClock } from './clock.js';
import type { HandlerTable } from './handler-table.js';
import type { SinkCalls } from './sink-call.js';
export { FRONT_ENDS, type FrontEnd } from './front-end.js';
import type { KeySets } from '../security/key-sets.js';

export interface CoreContext {
  handlers: HandlerTable;
  log: Logger;
  metrics: MetricEvents;
  /** Per-call log lines (failures, refusals, denies, lost decision records), repeats summed per interval. */
  notes: RepeatLog;
  /** The current time as records carry it (RFC 3339). */
  receivedAt: IsoClock;
  /** Most memory one call may take to decode and format (estimated before decoding); more is RESOURCE_EXHAUSTED. */
  maxDecodeBytes: number;
  /** Write deadline, decision-record policy and sink health. */
  sinkCalls: SinkCalls;
  /** --keys-dir's key sets; undefined without the flag (a handler naming a key_set then denies). */
  keySets?: KeySets | undefined;
  /** Told when a check found its handler's key set missing or empty (health shows it). */
  keySetMissing?: ((name: string) => void) | undefined;
}

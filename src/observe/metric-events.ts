// What the server reports as it goes. Prometheus (metrics.ts) implements it
// when --metrics-port is set; otherwise NO_METRICS does, and prom-client is
// never loaded: no per-call bookkeeping and no registry for nobody to read.
import type { DecisionReason } from '../core/authorize.js';
import type { FrontEnd } from '../core/front-end.js';
import type { Decision } from '../record/types.js';
import type { AlsNotWrittenCause, AlsStreamEnd } from '../frontends/envoy/als-outcomes.js';
import type { WriterEvents } from '../sinks/batching-writer.js';
import type { SinkSpec } from '../sinks/sink.js';

export interface MetricEvents {
  callFinished(method: string, code: string, seconds: number): void;
  /** A call refused before its handler ran (token, client certificate); `method` is the full path. */
  callRefused(method: string, code: string): void;
  /** An authorization decision answered (its key id, code and audit outcome are labels). */
  decided(handler: string, decision: Decision, reason: DecisionReason, frontEnd: FrontEnd): void;
  /** A call could not open the sink for `spec`, so its records were not written. */
  sinkOpenFailed(spec: SinkSpec): void;
  instances(template: string, handler: string, n: number, frontEnd: FrontEnd): void;
  paramsDecodeError(): void;
  /** A handler configuration entered the cache: its series exist from now on, at zero. */
  handlerCreated(handler: string, sink: SinkSpec): void;
  /** A handler configuration left the cache: its series go with it. */
  handlerEvicted(handler: string): void;
  tlsReloaded(outcome: 'ok' | 'error'): void;
  /** Writer events that feed the sink metrics of the sink opened for `spec`. */
  sinkEvents(spec: SinkSpec): WriterEvents;
  /** The sink opened for `spec` closed: its series go with it. */
  sinkClosed(spec: SinkSpec): void;
  /** A call gave up on its sink after --sink-write-timeout. */
  sinkWriteTimedOut(spec: SinkSpec): void;
  /** A check was answered although its decision record could not be written (`code`: what the write failed with). */
  decisionRecordLost(code: string): void;
  /** A sink plug-in's worker faulted (`kind`: uncaughtException, unhandledRejection, ...) and is restarted or disabled. */
  pluginFault(plugin: string, kind: string): void;
  /** A look at --operator-config that took a changed config (`ok`) or refused one (`error`; the last good one stays). */
  operatorConfigReloaded(outcome: 'ok' | 'error'): void;
  /** Access-log entries: `n` received, written (every record they made is on its sink), or not written and why. */
  accessLogEntries(outcome: 'received' | 'written', n: number): void;
  accessLogEntriesNotWritten(cause: AlsNotWrittenCause, n: number): void;
  /** An access-log stream ended, and how. */
  accessLogStreamEnded(end: AlsStreamEnd): void;
}

const NO_WRITER_EVENTS: WriterEvents = {};

export const NO_METRICS: MetricEvents = {
  callFinished: () => undefined,
  callRefused: () => undefined,
  decided: () => undefined,
  sinkOpenFailed: () => undefined,
  instances: () => undefined,
  paramsDecodeError: () => undefined,
  handlerCreated: () => undefined,
  handlerEvicted: () => undefined,
  tlsReloaded: () => undefined,
  sinkEvents: () => NO_WRITER_EVENTS,
  sinkClosed: () => undefined,
  sinkWriteTimedOut: () => undefined,
  decisionRecordLost: () => undefined,
  pluginFault: () => undefined,
  operatorConfigReloaded: () => undefined,
  accessLogEntries: () => undefined,
  accessLogEntriesNotWritten: () => undefined,
  accessLogStreamEnded: () => undefined,
};

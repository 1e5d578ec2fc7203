// Prometheus metrics of the adapter itself, in a registry of its own so
// several adapters in one process (tests) do not collide.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DECISION_REASONS, type DecisionReason } from '../core/authorize.js';
import { FRONT_ENDS, type FrontEnd } from '../core/front-end.js';
import {
  ALS_NOT_WRITTEN_CAUSES,
  ALS_STREAM_ENDS,
  type AlsNotWrittenCause,
  type AlsStreamEnd,
} from '../frontends/envoy/als-outcomes.js';
import type { WriterEvents } from '../sinks/batching-writer.js';
import type { SinkSpec } from '../sinks/sink.js';
import type { MetricEvents } from './metric-events.js';
import type { Decision } from '../record/types.js';

// The adapter's own metrics; the standard process_* and nodejs_* ones are not prefixed.
const PREFIX = 'mygrpcadapter_';

/** The handle methods and every status the adapter answers them with: their series exist from the start. */
export const METHODS = ['HandleMetric', 'HandleAuthorization'] as const;
export const ANSWERED_CODES = [
  'OK',
  'INVALID_ARGUMENT',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'INTERNAL',
  'DEADLINE_EXCEEDED',
  'FAILED_PRECONDITION',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
] as const;
/** The statuses a failed sink write maps to (status.ts): a lost decision record carries one. */
const SINK_FAILURE_CODES = [
  'UNAVAILABLE',
  'INTERNAL',
  'RESOURCE_EXHAUSTED',
  'DEADLINE_EXCEEDED',
  'FAILED_PRECONDITION',
] as const;
const TLS_OUTCOMES = ['ok', 'error'] as const;

/**
 * prom-client's totals of the per-type active handle/request/resource gauges
 * are gauges named `_total`, which `promtool check metrics` refuses (a
 * `_total` suffix means a counter); the per-type gauges stay, and
 * `sum without (type)` gives the same total.
 */
const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

// Calls are sub-millisecond when all is well; sink waits can reach seconds.
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Where a sink writes, as a label: the file path, or the sink type for stdout-like sinks. */
function destination(spec: SinkSpec): string {
  return spec.path === '' ? spec.type : spec.path;
}

export interface GaugeSources {
  /** Bytes queued or in flight per open sink. */
  sinkBuffers(): Promise<Array<{ spec: SinkSpec; bytes: number }>>;
  handlerCacheSize(): number;
}

export class AdapterMetrics implements MetricEvents {
  readonly registry = new Registry();
  private readonly calls = new Counter({
    name: `${PREFIX}calls_total`,
    help: 'Handle calls answered, by method and gRPC status code name.',
    labelNames: ['method', 'code'],
    registers: [this.registry],
  });
  private readonly callSeconds = new Histogram({
    name: `${PREFIX}call_duration_seconds`,
    help: 'Time from a handle call arriving to its answer.',
    labelNames: ['method'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly instanceCount = new Counter({
    name: `${PREFIX}instances_total`,
    help: 'Instances received, by template, handler (the id logged when a handler configuration is first seen) and front-end (mixer, envoy).',
    labelNames: ['template', 'handler', 'frontend'],
    registers: [this.registry],
  });
  private readonly paramsErrors = new Counter({
    name: `${PREFIX}params_decode_errors_total`,
    help: 'adapter_config values refused (wrong type URL, undecodable or invalid Params).',
    registers: [this.registry],
  });
  private readonly sinkBytes = new Counter({
    name: `${PREFIX}sink_bytes_written_total`,
    help: 'Bytes handed to the operating system by sinks.',
    labelNames: ['sink', 'destination'],
    registers: [this.registry],
  });
  private readonly sinkSeconds = new Histogram({
    name: `${PREFIX}sink_write_duration_seconds`,
    help: 'Time one group write took (one writev for a file sink).',
    labelNames: ['sink'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly sinkRefused = new Counter({
    name: `${PREFIX}sink_refused_writes_total`,
    help: 'Calls refused with RESOURCE_EXHAUSTED because the sink buffer stayed full.',
    labelNames: ['sink', 'destination'],
    registers: [this.registry],
  });
  private readonly sinkFailed = new Counter({
    name: `${PREFIX}sink_failed_writes_total`,
    help: 'Calls whose records a sink could not write, by stage: open (the sink could not be opened) or write.',
    labelNames: ['sink', 'destination', 'stage'],
    registers: [this.registry],
  });
  private readonly decisions = new Counter({
    name: `${PREFIX}decisions_total`,
    help: 'Authorization decisions answered, by handler, decision (allow, deny, audit_deny: allowed in audit mode, denied if enforced), reason class, front-end (mixer, envoy) and the id of the key that matched (a key set file name; empty otherwise).',
    labelNames: ['handler', 'decision', 'reason', 'frontend', 'key'],
    registers: [this.registry],
  });
  private readonly sinkTimeouts = new Counter({
    name: `${PREFIX}sink_write_timeouts_total`,
    help: 'Calls that gave up on their sink after --sink-write-timeout (answered DEADLINE_EXCEEDED).',
    labelNames: ['sink', 'destination'],
    registers: [this.registry],
  });
  private readonly decisionRecordsLost = new Counter({
    name: `${PREFIX}decision_records_lost_total`,
    help: 'Checks answered on their decision although the decision record could not be written, by the status the write failed with.',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private readonly pluginFaults = new Counter({
    name: `${PREFIX}sink_plugin_faults_total`,
    help: 'Faults of sink plug-in workers (uncaught exceptions, unhandled rejections, exits, stalls), by plug-in and kind; each fails the calls in flight and restarts the worker.',
    labelNames: ['plugin', 'kind'],
    registers: [this.registry],
  });
  private readonly evictions = new Counter({
    name: `${PREFIX}handler_cache_evictions_total`,
    help: 'Handler configurations evicted from the bounded cache.',
    registers: [this.registry],
  });
  private readonly operatorConfigReloads = new Counter({
    name: `${PREFIX}operator_config_reloads_total`,
    help: 'Changes to --operator-config taken (ok) or refused (error: the last good config stays in use).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly accessLogEntryCount = new Counter({
    name: `${PREFIX}access_log_entries_total`,
    help: 'Envoy access-log entries received, written (every record they made is on its sink), or not written, by cause.',
    labelNames: ['outcome', 'cause'],
    registers: [this.registry],
  });
  private readonly accessLogStreams = new Counter({
    name: `${PREFIX}access_log_streams_total`,
    help: 'Envoy access-log streams ended, by how: client_ended, drained (shutdown), too_large, overloaded, malformed, cancelled, internal.',
    labelNames: ['end'],
    registers: [this.registry],
  });
  private readonly tlsReloads = new Counter({
    name: `${PREFIX}tls_reloads_total`,
    help: 'Times the serving certificate or client CA was reloaded from disk, by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor(sources: GaugeSources) {
    // Unprefixed: process_* and nodejs_* are the names every Prometheus client
    // library exports and the shared dashboards and alerts query.
    collectDefaultMetrics({ register: this.registry });
    for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    // Counters with known label sets start at zero, so rate() and increase()
    // see their first event (a series born at 1 has no earlier sample).
    for (const method of METHODS) {
      for (const code of ANSWERED_CODES) this.calls.inc({ method, code }, 0);
      this.callSeconds.zero({ method });
    }
    for (const outcome of TLS_OUTCOMES) {
      this.tlsReloads.inc({ outcome }, 0);
      this.operatorConfigReloads.inc({ outcome }, 0);
    }
    for (const code of SINK_FAILURE_CODES) this.decisionRecordsLost.inc({ code }, 0);
    for (const outcome of ['received', 'written']) this.accessLogEntryCount.inc({ outcome, cause: '' }, 0);
    for (const cause of ALS_NOT_WRITTEN_CAUSES) this.accessLogEntryCount.inc({ outcome: 'not_written', cause }, 0);
    for (const end of ALS_STREAM_ENDS) this.accessLogStreams.inc({ end }, 0);
    new Gauge({
      name: `${PREFIX}sink_buffer_bytes`,
      help: 'Bytes a sink holds queued or being written.',
      labelNames: ['sink', 'destination'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { spec, bytes } of await sources.sinkBuffers()) {
          this.set({ sink: spec.type, destination: destination(spec) }, bytes);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}handler_cache_size`,
      help: 'Handler configurations held decoded.',
      registers: [this.registry],
      collect() {
        this.set(sources.handlerCacheSize());
      },
    });
  }

  // Label-bound children, kept: resolving label values costs more than the
  // increment itself on the per-call path.
  private readonly callChildren = new Map<string, { count: Counter.Internal; seconds: Histogram.Internal<'method'> }>();
  private readonly instanceChildren = new Map<string, Counter.Internal>();
  private readonly decisionChildren = new Map<
    string,
    { child: Counter.Internal; labels: Record<'handler' | 'decision' | 'reason' | 'frontend' | 'key', string> }
  >();
  private readonly sinkTypesSeen = new Set<string>();

  callFinished(method: string, code: string, seconds: number): void {
    const key = `${method} ${code}`;
    let child = this.callChildren.get(key);
    if (!child) {
      child = { count: this.calls.labels({ method, code }), seconds: this.callSeconds.labels({ method }) };
      this.callChildren.set(key, child);
    }
    child.count.inc();
    child.seconds.observe(seconds);
  }

  callRefused(method: string, code: string): void {
    this.calls.inc({ method: method.slice(method.lastIndexOf('/') + 1), code });
  }

  decided(handler: string, decision: Decision, reason: DecisionReason, frontend: FrontEnd): void {
    const key = decision.keyId ?? '';
    const verdict = decision.wouldBe !== undefined ? 'audit_deny' : decision.code === 'OK' ? 'allow' : 'deny';
    const childKey = `${handler} ${reason} ${frontend} ${verdict} ${key}`;
    let entry = this.decisionChildren.get(childKey);
    if (!entry) {
      // A call that outlived its handler's eviction adds no series back.
      if (!this.liveHandlers.has(handler)) return;
      const labels = { handler, decision: verdict, reason, frontend, key };
      entry = { child: this.decisions.labels(labels), labels };
      this.decisionChildren.set(childKey, entry);
    }
    entry.child.inc();
  }

  sinkOpenFailed(spec: SinkSpec): void {
    const labels = { sink: spec.type, destination: destination(spec), stage: 'open' };
    // Its series lives as long as a cached handler writes there (see handlerCreated).
    if (this.openFailureUsers.has(`${labels.sink}\u0000${labels.destination}`)) this.sinkFailed.inc(labels);
  }

  /** A sink just opened: its series start at zero (they go when it closes, see sinkClosed). */
  private sinkSeriesAtZero(spec: SinkSpec): void {
    const labels = { sink: spec.type, destination: destination(spec) };
    this.sinkFailed.inc({ ...labels, stage: 'write' }, 0);
    this.sinkRefused.inc(labels, 0);
    this.sinkTimeouts.inc(labels, 0);
    this.sinkBytes.inc(labels, 0);
    // zero() resets a histogram that has observations: only once per sink type.
    if (!this.sinkTypesSeen.has(spec.type)) {
      this.sinkTypesSeen.add(spec.type);
      this.sinkSeconds.zero({ sink: spec.type });
    }
  }

  instances(template: string, handler: string, n: number, frontend: FrontEnd): void {
    const key = `${template} ${handler} ${frontend}`;
    let child = this.instanceChildren.get(key);
    if (!child) {
      // A call that outlived its handler's eviction adds no series back.
      if (!this.liveHandlers.has(handler)) return;
      child = this.instanceCount.labels({ template, handler, frontend });
      this.instanceChildren.set(key, child);
    }
    child.inc(n);
  }

  // Label sets live as long as what they describe: a handler configuration
  // while it is cached, a destination while a sink is open on it. Otherwise
  // every configuration ever seen would stay in memory and in /metrics.
  private readonly liveHandlers = new Set<string>();
  private readonly openDestinations = new Map<string, number>();

  // A sink that cannot be opened is never open, so its `stage="open"` series
  // lives with the handler configurations that write there: destination ->
  // how many cached handlers use it.
  private readonly openFailureUsers = new Map<string, number>();
  private readonly handlerDestinations = new Map<string, { sink: string; destination: string }>();

  handlerCreated(handler: string, sink: SinkSpec): void {
    this.liveHandlers.add(handler);
    for (const labels of this.zeroDecisions(handler)) this.decisions.inc(labels, 0);
    const labels = { sink: sink.type, destination: destination(sink) };
    this.handlerDestinations.set(handler, labels);
    const key = `${labels.sink}\u0000${labels.destination}`;
    this.openFailureUsers.set(key, (this.openFailureUsers.get(key) ?? 0) + 1);
    this.sinkFailed.inc({ ...labels, stage: 'open' }, 0);
  }

  /** The decision series a handler has from its start (enforcing, no key id), at zero. */
  private zeroDecisions(handler: string) {
    return FRONT_ENDS.flatMap((frontend) =>
      DECISION_REASONS.map((reason) => ({
        handler,
        decision: reason === 'token_matches' ? 'allow' : 'deny',
        reason,
        frontend,
        key: '',
      })),
    );
  }

  private forgetHandler(handler: string): void {
    this.liveHandlers.delete(handler);
    for (const frontend of FRONT_ENDS) {
      for (const template of ['metric', 'authorization']) {
        this.instanceChildren.delete(`${template} ${handler} ${frontend}`);
        this.instanceCount.remove({ template, handler, frontend });
      }
    }
    for (const labels of this.zeroDecisions(handler)) this.decisions.remove(labels);
    for (const [childKey, entry] of this.decisionChildren) {
      if (entry.labels.handler !== handler) continue;
      this.decisionChildren.delete(childKey);
      this.decisions.remove(entry.labels);
    }
    const labels = this.handlerDestinations.get(handler);
    if (!labels) return;
    this.handlerDestinations.delete(handler);
    const key = `${labels.sink}\u0000${labels.destination}`;
    const users = (this.openFailureUsers.get(key) ?? 1) - 1;
    if (users > 0) {
      this.openFailureUsers.set(key, users);
      return;
    }
    this.openFailureUsers.delete(key);
    this.sinkFailed.remove({ ...labels, stage: 'open' });
  }

  sinkClosed(spec: SinkSpec): void {
    const labels = { sink: spec.type, destination: destination(spec) };
    const key = `${labels.sink}\u0000${labels.destination}`;
    const open = (this.openDestinations.get(key) ?? 1) - 1;
    if (open > 0) {
      this.openDestinations.set(key, open);
      return;
    }
    this.openDestinations.delete(key);
    for (const counter of [this.sinkBytes, this.sinkRefused, this.sinkTimeouts]) counter.remove(labels);
    this.sinkFailed.remove({ ...labels, stage: 'write' });
  }

  paramsDecodeError(): void {
    this.paramsErrors.inc();
  }

  handlerEvicted(handler: string): void {
    this.evictions.inc();
    this.forgetHandler(handler);
  }

  operatorConfigReloaded(outcome: 'ok' | 'error'): void {
    this.operatorConfigReloads.inc({ outcome });
  }

  accessLogEntries(outcome: 'received' | 'written', n: number): void {
    this.accessLogEntryCount.inc({ outcome, cause: '' }, n);
  }

  accessLogEntriesNotWritten(cause: AlsNotWrittenCause, n: number): void {
    this.accessLogEntryCount.inc({ outcome: 'not_written', cause }, n);
  }

  accessLogStreamEnded(end: AlsStreamEnd): void {
    this.accessLogStreams.inc({ end });
  }

  tlsReloaded(outcome: 'ok' | 'error'): void {
    this.tlsReloads.inc({ outcome });
  }

  sinkWriteTimedOut(spec: SinkSpec): void {
    this.sinkTimeouts.inc({ sink: spec.type, destination: destination(spec) });
  }

  decisionRecordLost(code: string): void {
    this.decisionRecordsLost.inc({ code });
  }

  pluginFault(plugin: string, kind: string): void {
    this.pluginFaults.inc({ plugin, kind });
  }

  sinkEvents(spec: SinkSpec): WriterEvents {
    const labels = { sink: spec.type, destination: destination(spec) };
    const key = `${labels.sink}\u0000${labels.destination}`;
    this.openDestinations.set(key, (this.openDestinations.get(key) ?? 0) + 1);
    this.sinkSeriesAtZero(spec);
    return {
      groupWritten: (bytes, seconds) => {
        this.sinkBytes.inc(labels, bytes);
        this.sinkSeconds.observe({ sink: spec.type }, seconds);
      },
      refused: () => this.sinkRefused.inc(labels),
      failed: (chunks) => this.sinkFailed.inc({ ...labels, stage: 'write' }, chunks),
    };
  }
}

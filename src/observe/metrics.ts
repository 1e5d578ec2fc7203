// Prometheus metrics of the adapter itself, in a registry of its own so
// several adapters in one process (tests) do not collide.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WriterEvents } from '../sinks/batching-writer.js';
import type { SinkSpec } from '../sinks/sink.js';
import type { MetricEvents } from './metric-events.js';

const PREFIX = 'mygrpcadapter_';

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
    help: 'Instances received, by template and handler (the id logged when a handler configuration is first seen).',
    labelNames: ['template', 'handler'],
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
    help: 'Calls whose records a sink could not write.',
    labelNames: ['sink', 'destination'],
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
  private readonly evictions = new Counter({
    name: `${PREFIX}handler_cache_evictions_total`,
    help: 'Handler configurations evicted from the bounded cache.',
    registers: [this.registry],
  });
  private readonly tlsReloads = new Counter({
    name: `${PREFIX}tls_reloads_total`,
    help: 'Times the serving certificate or client CA was reloaded from disk, by outcome.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });

  constructor(sources: GaugeSources) {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
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

  instances(template: string, handler: string, n: number): void {
    const key = `${template} ${handler}`;
    let child = this.instanceChildren.get(key);
    if (!child) {
      // A call that outlived its handler's eviction adds no series back.
      if (!this.liveHandlers.has(handler)) return;
      child = this.instanceCount.labels({ template, handler });
      this.instanceChildren.set(key, child);
    }
    child.inc(n);
  }

  // Label sets live as long as what they describe: a handler configuration
  // while it is cached, a destination while a sink is open on it. Otherwise
  // every configuration ever seen would stay in memory and in /metrics.
  private readonly liveHandlers = new Set<string>();
  private readonly openDestinations = new Map<string, number>();

  handlerCreated(handler: string): void {
    this.liveHandlers.add(handler);
  }

  private forgetHandler(handler: string): void {
    this.liveHandlers.delete(handler);
    for (const template of ['metric', 'authorization']) {
      this.instanceChildren.delete(`${template} ${handler}`);
      this.instanceCount.remove({ template, handler });
    }
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
    for (const counter of [this.sinkBytes, this.sinkRefused, this.sinkFailed, this.sinkTimeouts])
      counter.remove(labels);
  }

  paramsDecodeError(): void {
    this.paramsErrors.inc();
  }

  handlerEvicted(handler: string): void {
    this.evictions.inc();
    this.forgetHandler(handler);
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

  sinkEvents(spec: SinkSpec): WriterEvents {
    const labels = { sink: spec.type, destination: destination(spec) };
    const key = `${labels.sink}\u0000${labels.destination}`;
    this.openDestinations.set(key, (this.openDestinations.get(key) ?? 0) + 1);
    return {
      groupWritten: (bytes, seconds) => {
        this.sinkBytes.inc(labels, bytes);
        this.sinkSeconds.observe({ sink: spec.type }, seconds);
      },
      refused: () => this.sinkRefused.inc(labels),
      failed: (chunks) => this.sinkFailed.inc(labels, chunks),
    };
  }
}

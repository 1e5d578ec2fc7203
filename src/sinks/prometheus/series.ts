// The Prometheus sink's own prom-client Registry (never the adapter's
// self-metrics): the metrics that handler configurations define, the series
// each holds (bounded per metric, and all together by a byte budget), and the
// dropping of idle series.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PrometheusMetricSpec } from '../../core/params/prometheus-params.js';
import type { Misfit } from './values.js';

/** How one metric keeps its series; part of what two handlers must agree on to share it. */
export interface SeriesPolicy {
  /** Most series; a new one beyond it is refused. */
  maxSeries: number;
  /** Idle series are dropped after this long; 0 = never. */
  expiryMs: number;
  checkIntervalMs: number;
}

type PromMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** Bounds of the whole sink, over every metric (the per-metric cap is in SeriesPolicy). */
export interface SeriesBounds {
  /** Bytes of series text held (see seriesBytes); a new series past it is refused. */
  maxBytes: number;
  /** Longest label value in UTF-8 bytes; an instance with a longer one is refused. */
  maxLabelValueBytes: number;
}

/** 8 MiB: the page is at most about that; the series, a page and its rendering stay within about 8 times it (measured). */
export const DEFAULT_SERIES_MAX_BYTES = 8 * 1024 * 1024;
/** As Cortex and Grafana Mimir's max_label_value_length: past it an instance is refused. */
export const DEFAULT_MAX_LABEL_VALUE_BYTES = 2048;

export const DEFAULT_SERIES_BOUNDS: Readonly<SeriesBounds> = {
  maxBytes: DEFAULT_SERIES_MAX_BYTES,
  maxLabelValueBytes: DEFAULT_MAX_LABEL_VALUE_BYTES,
};

/** Bytes counted per line of a series besides its label text: the value, the syntax, `le`. */
export const SERIES_LINE_OVERHEAD = 64;
/** Bytes counted once per series for the objects behind it (map entries, prom-client's label object). */
export const SERIES_OVERHEAD = 512;

/**
 * What one series counts against the budget. Its label text (the metric
 * name, and each label's name and value in UTF-8 bytes) counts once per line
 * it puts on the page (one for a counter or gauge; each bucket, +Inf, _sum
 * and _count for a histogram) with SERIES_LINE_OVERHEAD each, twice more for
 * the two copies the sink keeps (its own series key and prom-client's), and
 * SERIES_OVERHEAD once.
 */
export function seriesBytes(spec: PrometheusMetricSpec, labels: readonly string[]): number {
  let text = spec.fullName.length;
  spec.labelNames.forEach((name, i) => {
    text += name.length + Buffer.byteLength(labels[i] ?? '', 'utf8') + 4;
  });
  const lines = spec.kind === 'DISTRIBUTION' ? spec.buckets.length + 3 : 1;
  return lines * (text + SERIES_LINE_OVERHEAD) + 2 * text + SERIES_OVERHEAD;
}

/** The byte budget all metrics of one sink share. */
export class SeriesBudget {
  used = 0;
  constructor(readonly max: number) {}
}

/** A Registry that counts its changes, so a rendered page is served again until the next one. */
export class VersionedRegistry extends Registry {
  version = 0;
}

/** One registered metric with the label sets it has seen and when each was last updated. */
export class TrackedMetric {
  /** Label values (JSON array) -> last update, ms on the monotonic clock. */
  private readonly series = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  /** What this metric's series count against the budget. */
  private bytes = 0;
  refs = 0;

  constructor(
    readonly spec: PrometheusMetricSpec,
    readonly policy: SeriesPolicy,
    readonly definitionKey: string,
    private readonly metric: PromMetric,
    private readonly onExpired: (count: number) => void,
    private readonly now: () => number,
    /** Called on every change to what the page shows. */
    private readonly touch: () => void,
    private readonly budget: SeriesBudget,
  ) {
    if (policy.expiryMs > 0) {
      this.timer = setInterval(() => this.expire(), policy.checkIntervalMs);
      this.timer.unref();
    }
  }

  get seriesCount(): number {
    return this.series.size;
  }

  /** Applies one value; or why not, when it would open a series past the cap or the budget. */
  apply(labels: readonly string[], value: number): 'series_cap' | 'series_budget' | undefined {
    const key = JSON.stringify(labels);
    if (!this.series.has(key)) {
      if (this.series.size >= this.policy.maxSeries) return 'series_cap';
      const bytes = seriesBytes(this.spec, labels);
      if (this.budget.used + bytes > this.budget.max) return 'series_budget';
      this.budget.used += bytes;
      this.bytes += bytes;
    }
    this.series.set(key, this.now());
    this.touch();
    const labelSet = Object.fromEntries(this.spec.labelNames.map((name, i) => [name, labels[i]!]));
    if (this.metric instanceof Counter) this.metric.inc(labelSet, value);
    else if (this.metric instanceof Gauge) this.metric.set(labelSet, value);
    else this.metric.observe(labelSet, value);
    return undefined;
  }

  /** Drops every series idle for longer than the expiry duration. */
  expire(): void {
    const oldest = this.now() - this.policy.expiryMs;
    let dropped = 0;
    for (const [key, last] of this.series) {
      if (last > oldest) continue;
      const labels = JSON.parse(key) as string[];
      this.metric.remove(Object.fromEntries(this.spec.labelNames.map((name, i) => [name, labels[i]!])));
      this.series.delete(key);
      this.giveBack(seriesBytes(this.spec, labels));
      dropped++;
    }
    if (dropped > 0) {
      this.touch();
      this.onExpired(dropped);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Gives every series' bytes back to the budget (the metric is unregistered). */
  releaseBytes(): void {
    this.giveBack(this.bytes);
  }

  private giveBack(bytes: number): void {
    this.bytes -= bytes;
    this.budget.used -= bytes;
  }
}

export class MetricConflictError extends Error {
  override name = 'MetricConflictError';
}

export class SeriesRegistry {
  readonly registry = new VersionedRegistry();
  private readonly metrics = new Map<string, TrackedMetric>();
  private readonly refused: Counter<'metric' | 'reason'>;
  private readonly expired: Counter<'metric'>;
  private readonly budget: SeriesBudget;
  readonly bounds: Readonly<SeriesBounds>;

  constructor(
    bounds: Partial<SeriesBounds> = {},
    // Monotonic: a wall-clock step must neither expire live series nor keep stale ones.
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bounds = { ...DEFAULT_SERIES_BOUNDS, ...bounds };
    this.budget = new SeriesBudget(this.bounds.maxBytes);
    const budget = this.budget;
    // The sink's own accounting sits beside the series it is about.
    this.refused = new Counter({
      name: 'mygrpcadapter_prometheus_sink_refused_instances_total',
      help: 'Metric instances the Prometheus sink did not apply, by metric and reason',
      labelNames: ['metric', 'reason'],
      registers: [this.registry],
    });
    this.expired = new Counter({
      name: 'mygrpcadapter_prometheus_sink_expired_series_total',
      help: 'Series dropped by the expiry policy after being idle',
      labelNames: ['metric'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'mygrpcadapter_prometheus_sink_series_bytes',
      help: 'Bytes of series text the Prometheus sink holds, counted against its budget',
      registers: [this.registry],
      collect() {
        this.set(budget.used);
      },
    });
    new Gauge({
      name: 'mygrpcadapter_prometheus_sink_series_bytes_limit',
      help: 'The budget: a new series past it is refused (reason="series_budget")',
      registers: [this.registry],
      collect() {
        this.set(budget.max);
      },
    });
  }

  /**
   * The metric named by `spec`, registered on first use. Two handler
   * configurations share a metric when they define it identically; a
   * different definition under the same name throws MetricConflictError.
   */
  acquire(spec: PrometheusMetricSpec, policy: SeriesPolicy): TrackedMetric {
    const definitionKey = JSON.stringify([spec, policy]);
    let tracked = this.metrics.get(spec.fullName);
    if (tracked && tracked.definitionKey !== definitionKey) {
      throw new MetricConflictError(
        `metric ${spec.fullName} is already defined differently by another handler configuration (${describe(tracked)})`,
      );
    }
    if (!tracked) {
      tracked = new TrackedMetric(
        spec,
        policy,
        definitionKey,
        this.create(spec),
        (n) => this.expired.inc({ metric: spec.fullName }, n),
        this.now,
        this.touch,
        this.budget,
      );
      this.touch();
      this.metrics.set(spec.fullName, tracked);
    }
    tracked.refs++;
    return tracked;
  }

  /** Unregisters the metric (and its series) when its last handler configuration lets go. */
  release(tracked: TrackedMetric): void {
    if (--tracked.refs > 0 || this.metrics.get(tracked.spec.fullName) !== tracked) return;
    tracked.stop();
    tracked.releaseBytes();
    this.metrics.delete(tracked.spec.fullName);
    this.registry.removeSingleMetric(tracked.spec.fullName);
    this.touch();
  }

  countRefused(metric: string, reason: Misfit): void {
    this.refused.inc({ metric, reason });
    this.touch();
  }

  private readonly touch = (): void => {
    this.registry.version++;
  };

  /** Stops every expiry timer (shutdown). */
  close(): void {
    for (const tracked of this.metrics.values()) tracked.stop();
  }

  private create(spec: PrometheusMetricSpec): PromMetric {
    const base = { name: spec.fullName, help: spec.help, labelNames: [...spec.labelNames], registers: [this.registry] };
    switch (spec.kind) {
      case 'COUNTER':
        return new Counter(base);
      case 'GAUGE':
        return new Gauge(base);
      case 'DISTRIBUTION':
        return new Histogram({ ...base, buckets: [...spec.buckets] });
      default: {
        const never: never = spec.kind;
        throw new Error(`unknown metric kind ${String(never)}`);
      }
    }
  }
}

function describe(t: TrackedMetric): string {
  return `${t.spec.kind} of ${t.spec.instanceName} with labels [${t.spec.labelNames.join(', ')}]`;
}

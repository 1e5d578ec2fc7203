// Params fields 10-12 (the Prometheus sink) -> validated PrometheusSettings.
// Names and bucket shapes follow Mixer's own prometheus adapter, so an
// operator's handler params carry over.
import type { Params__Output as RawParams } from '../../generated/adapter/mygrpcadapter/config/Params.js';
import { parseGoDuration } from '../../common/go-duration.js';

export const METRIC_KINDS = ['GAUGE', 'COUNTER', 'DISTRIBUTION'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** One Prometheus metric fed by one instance. */
export interface PrometheusMetricSpec {
  /** Full Prometheus name, `<namespace>_<name>`. */
  readonly fullName: string;
  /** `<instance>.instance.<namespace>`. */
  readonly instanceName: string;
  readonly help: string;
  readonly kind: MetricKind;
  readonly labelNames: readonly string[];
  /** Histogram upper bounds (DISTRIBUTION only; empty otherwise). */
  readonly buckets: readonly number[];
}

export interface PrometheusSettings {
  readonly metrics: readonly PrometheusMetricSpec[];
  /** Idle series are dropped after this long; 0 = never. */
  readonly expiryMs: number;
  /** How often idle series are looked for. */
  readonly checkIntervalMs: number;
  /** Most series per metric; 0 = the adapter's default. */
  readonly maxSeriesPerMetric: number;
}

const DEFAULT_NAMESPACE = 'istio';
/** A histogram has one series per bound; more than this is a mistake, not a need. */
export const MAX_BUCKETS = 200;
/**
 * The most max_series_per_metric may ask for (--prometheus-max-series too).
 * The sink's byte budget bounds all series together; this keeps one metric's
 * cap a number a handler could mean.
 */
export const MAX_SERIES_PER_METRIC = 100_000;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type RawMetric = RawParams['metrics'][number];
type RawBuckets = NonNullable<RawMetric['buckets']>;

/** Mixer's fallback for a metric without a name: the instance name made Prometheus-safe. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

/** Bounds computed by arithmetic, without float noise such as 0.15000000000000002 in `le` labels. */
const tidy = (n: number): number => Number(n.toPrecision(15));

function bucketBounds(raw: RawBuckets | null, at: string, problems: string[]): number[] {
  const defined = [raw?.linear_buckets, raw?.exponential_buckets, raw?.explicit_buckets].filter((b) => b);
  if (!raw || defined.length === 0) {
    problems.push(`${at}: DISTRIBUTION needs linear_buckets, exponential_buckets or explicit_buckets`);
    return [];
  }
  const count = (n: number, where: string): boolean => {
    if (Number.isInteger(n) && n >= 1 && n + 1 <= MAX_BUCKETS) return true;
    problems.push(`${at}.${where}.num_finite_buckets: expected 1..${MAX_BUCKETS - 1}, got ${n}`);
    return false;
  };
  let bounds: number[] = [];
  if (raw.linear_buckets) {
    const { num_finite_buckets: n, width, offset } = raw.linear_buckets;
    if (!(width > 0)) problems.push(`${at}.linear_buckets.width: must be greater than 0, got ${width}`);
    else if (count(n, 'linear_buckets')) bounds = Array.from({ length: n + 1 }, (_, i) => tidy(offset + width * i));
  } else if (raw.exponential_buckets) {
    const { num_finite_buckets: n, growth_factor: growth, scale } = raw.exponential_buckets;
    if (!(growth > 1)) problems.push(`${at}.exponential_buckets.growth_factor: must be greater than 1, got ${growth}`);
    else if (!(scale > 0)) problems.push(`${at}.exponential_buckets.scale: must be greater than 0, got ${scale}`);
    else if (count(n, 'exponential_buckets'))
      bounds = Array.from({ length: n + 1 }, (_, i) => tidy(scale * growth ** i));
  } else if (raw.explicit_buckets) {
    bounds = raw.explicit_buckets.bounds;
    if (bounds.length === 0 || bounds.length > MAX_BUCKETS) {
      problems.push(`${at}.explicit_buckets.bounds: expected 1..${MAX_BUCKETS} bounds, got ${bounds.length}`);
    } else if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      problems.push(
        `${at}.explicit_buckets.bounds: must be finite and strictly increasing, got [${bounds.join(', ')}]`,
      );
    }
  }
  return bounds;
}

function metricSpec(raw: RawMetric, at: string, problems: string[]): PrometheusMetricSpec {
  if (raw.instance_name === '')
    problems.push(`${at}.instance_name: required (e.g. "requestsize.instance.istio-system")`);
  const namespace = raw.namespace === '' ? DEFAULT_NAMESPACE : raw.namespace;
  const name = raw.name === '' ? sanitize(raw.instance_name) : raw.name;
  const fullName = `${namespace}_${name}`;
  if (!METRIC_NAME.test(fullName)) {
    problems.push(`${at}: "${fullName}" (namespace_name) is not a valid Prometheus metric name`);
  }
  const kind = raw.kind as string;
  if (!(METRIC_KINDS as readonly string[]).includes(kind)) {
    problems.push(`${at}.kind: expected one of ${METRIC_KINDS.join(', ')}, got ${JSON.stringify(raw.kind)}`);
  }
  const seen = new Set<string>();
  raw.label_names.forEach((label, i) => {
    if (!LABEL_NAME.test(label) || label.startsWith('__')) {
      problems.push(`${at}.label_names[${i}]: "${label}" is not a valid Prometheus label name`);
    } else if (seen.has(label)) {
      problems.push(`${at}.label_names[${i}]: "${label}" appears twice`);
    }
    seen.add(label);
  });
  const buckets = kind === 'DISTRIBUTION' ? bucketBounds(raw.buckets, `${at}.buckets`, problems) : [];
  return {
    fullName,
    instanceName: raw.instance_name,
    help: raw.description === '' ? `Values of the metric instance ${raw.instance_name}` : raw.description,
    kind: kind as MetricKind,
    labelNames: raw.label_names,
    buckets,
  };
}

function durationMs(text: string, at: string, problems: string[]): number | undefined {
  if (text === '') return undefined;
  const nanos = parseGoDuration(text);
  if (nanos === undefined || nanos < 0n) {
    problems.push(`${at}: expected a duration such as "10m", got "${text}"`);
    return undefined;
  }
  return Number(nanos / 1_000_000n);
}

/**
 * The Prometheus settings in `raw`, or undefined when it has none. Appends
 * every problem (naming its field) to `problems`. `sink` is the resolved sink
 * type: the fields are refused under any other sink, where they would do nothing.
 */
export function prometheusSettings(raw: RawParams, sink: string, problems: string[]): PrometheusSettings | undefined {
  const given = raw.metrics.length > 0 || raw.metrics_expiration_policy !== null || raw.max_series_per_metric !== 0;
  if (sink !== 'prometheus') {
    if (given) {
      problems.push(
        `metrics, metrics_expiration_policy, max_series_per_metric: only used with sink "prometheus" (sink is "${sink}")`,
      );
    }
    return undefined;
  }
  if (raw.metrics.length === 0) problems.push('metrics: sink "prometheus" needs at least one metric');
  const metrics = raw.metrics.map((m, i) => metricSpec(m, `metrics[${i}]`, problems));
  const names = new Set<string>();
  const instances = new Set<string>();
  metrics.forEach((m, i) => {
    if (names.has(m.fullName)) problems.push(`metrics[${i}]: the name "${m.fullName}" is used twice`);
    if (instances.has(m.instanceName)) {
      problems.push(`metrics[${i}].instance_name: "${m.instanceName}" already feeds another metric`);
    }
    names.add(m.fullName);
    instances.add(m.instanceName);
  });
  if (raw.max_series_per_metric < 0) {
    problems.push(`max_series_per_metric: must not be negative, got ${raw.max_series_per_metric}`);
  } else if (raw.max_series_per_metric > MAX_SERIES_PER_METRIC) {
    problems.push(`max_series_per_metric: at most ${MAX_SERIES_PER_METRIC}, got ${raw.max_series_per_metric}`);
  }
  const policy = raw.metrics_expiration_policy;
  const expiryMs =
    durationMs(policy?.metrics_expiry_duration ?? '', 'metrics_expiration_policy.metrics_expiry_duration', problems) ??
    0;
  const checkMs = durationMs(
    policy?.expiry_check_interval_duration ?? '',
    'metrics_expiration_policy.expiry_check_interval_duration',
    problems,
  );
  if (checkMs === 0) problems.push('metrics_expiration_policy.expiry_check_interval_duration: must be greater than 0');
  return {
    metrics,
    expiryMs,
    checkIntervalMs: checkMs ?? expiryMs,
    maxSeriesPerMetric: Math.min(MAX_SERIES_PER_METRIC, Math.max(0, raw.max_series_per_metric)),
  };
}

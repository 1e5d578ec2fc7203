// sink "prometheus": each metric instance becomes a value on a Prometheus
// series (counter add, gauge set, histogram observe). A write resolves once
// the values are in the registry; that is what the OK to Mixer means here.
import type { PrometheusSettings } from '../../core/params/prometheus-params.js';
import type { AdapterRecord } from '../../record/types.js';
import type { WriterCounters } from '../batching-writer.js';
import { SinkClosedError, SinkError, type Sink } from '../sink.js';
import { MetricConflictError, type SeriesRegistry, type TrackedMetric } from './series.js';
import { labelValues, seriesValue, type Misfit } from './values.js';

/** Reports an instance that was not applied (rate-limited by whoever is behind it). */
export type MisfitReport = (cause: Misfit, fields: Record<string, unknown>) => void;

export class PrometheusSink implements Sink {
  private closed = false;
  readonly acceptsEncoded = false;
  readonly bufferedBytes = 0;
  readonly counters: WriterCounters = { bytesWritten: 0, groupsWritten: 0, failedChunks: 0, refusedChunks: 0 };

  private constructor(
    private readonly series: SeriesRegistry,
    private readonly byInstance: ReadonlyMap<string, TrackedMetric>,
    private readonly report: MisfitReport,
  ) {}

  /** Registers the settings' metrics; rejects with SinkError when one clashes with another configuration's. */
  static open(
    settings: PrometheusSettings,
    series: SeriesRegistry,
    defaultMaxSeries: number,
    report: MisfitReport,
  ): PrometheusSink {
    const policy = {
      maxSeries: settings.maxSeriesPerMetric > 0 ? settings.maxSeriesPerMetric : defaultMaxSeries,
      expiryMs: settings.expiryMs,
      checkIntervalMs: settings.checkIntervalMs,
    };
    const acquired: TrackedMetric[] = [];
    try {
      for (const spec of settings.metrics) acquired.push(series.acquire(spec, policy));
    } catch (err) {
      for (const t of acquired) series.release(t);
      if (err instanceof MetricConflictError) throw new SinkError(err.message, 'ECONFLICT');
      throw err;
    }
    return new PrometheusSink(series, new Map(acquired.map((t) => [t.spec.instanceName, t])), report);
  }

  write(records: readonly AdapterRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new SinkClosedError('prometheus sink'));
    for (const record of records) this.apply(record);
    this.counters.groupsWritten++;
    return Promise.resolve();
  }

  private apply(record: AdapterRecord): void {
    const tracked = this.byInstance.get(record.instance);
    if (!tracked) {
      const reason = record.template === 'metric' ? 'no_metric' : 'not_metric';
      this.refuse('', reason, record.instance, `no metric in Params.metrics has instance_name "${record.instance}"`);
      return;
    }
    const metric = tracked.spec.fullName;
    if (record.template !== 'metric') {
      this.refuse(metric, 'not_metric', record.instance, `a ${record.template} instance carries no value`);
      return;
    }
    const value = seriesValue(record.value, record.valueKind, tracked.spec.kind);
    if (!value.ok) return this.refuse(metric, value.misfit, record.instance, value.detail);
    const labels = labelValues(record.dimensions, tracked.spec.labelNames, this.series.bounds.maxLabelValueBytes);
    if (!labels.ok) return this.refuse(metric, labels.misfit, record.instance, labels.detail);
    const refusal = tracked.apply(labels.value, value.value);
    if (refusal === 'series_cap') {
      this.refuse(metric, refusal, record.instance, `metric already has ${tracked.policy.maxSeries} series`);
    } else if (refusal === 'series_budget') {
      this.refuse(
        metric,
        refusal,
        record.instance,
        `a new series would take the sink past its budget of ${this.series.bounds.maxBytes} bytes of series`,
      );
    }
  }

  private refuse(metric: string, reason: Misfit, instance: string, detail: string): void {
    this.counters.refusedChunks++;
    this.series.countRefused(metric, reason);
    this.report(reason, { metric, instance, detail });
  }

  /** Values are in the registry as soon as write() returns. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  writeEncoded(): Promise<void> {
    return Promise.reject(new SinkError('the prometheus sink takes records, not formatted bytes', undefined));
  }

  reopen(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const tracked of this.byInstance.values()) this.series.release(tracked);
    return Promise.resolve();
  }
}

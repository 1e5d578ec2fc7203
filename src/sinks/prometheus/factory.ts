// The "prometheus" sink type: a SinkFactory over the one SeriesRegistry that
// the --prometheus-port endpoint serves.
import type { SinkFactory } from '../registry.js';
import { SinkError } from '../sink.js';
import { PrometheusSink, type MisfitReport } from './sink.js';
import type { SeriesRegistry } from './series.js';

export function prometheusSinkFactory(
  series: SeriesRegistry,
  defaultMaxSeries: number,
  report: MisfitReport,
): SinkFactory {
  // A clash with another configuration's metric rejects rather than throws.
  return (spec) =>
    new Promise((resolve) => {
      if (!spec.prometheus) throw new SinkError('sink "prometheus" needs Params.metrics', undefined);
      resolve(PrometheusSink.open(spec.prometheus, series, defaultMaxSeries, report));
    });
}

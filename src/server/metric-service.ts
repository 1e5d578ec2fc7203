// /metric.HandleMetricService/HandleMetric: decode every instance, then hand
// the records of the call to the handler's sink; OK only once they are written.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { ReportResult } from '../generated/istio/mixer/adapter/model/v1beta1/ReportResult.js';
import { metricRecord } from '../decode/instance.js';
import { decodeMetricRequest } from '../decode/request.js';
import type { ServiceContext } from './service-context.js';
import { answer } from './service-context.js';

export function handleMetric(ctx: ServiceContext): handleUnaryCall<Buffer, ReportResult> {
  return (call, callback) => {
    answer(ctx, 'HandleMetric', callback, async () => {
      const req = decodeMetricRequest(call.request);
      const handler = ctx.handlers.resolve(req.adapter_config);
      const callCtx = { dedupId: req.dedup_id, receivedAt: ctx.now().toISOString(), config: handler.config.view };
      const records = req.instances.map((instance, i) => metricRecord(instance, i, callCtx));
      ctx.metrics.instances('metric', handler.id, records.length);
      if (records.length > 0) await ctx.handlers.withSink(handler, (sink) => sink.write(records));
      ctx.log.debug({ dedupId: req.dedup_id, instances: records.length }, 'HandleMetric done');
      return {};
    });
  };
}

// /metric.HandleMetricService/HandleMetric: decode every instance, then hand
// the records of the call to the handler's sink; OK only once they are written.
// Large batches are decoded and formatted by a worker thread when there is a
// decode pool; small ones are not worth the hop.
import type { handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { metricRecord } from './instance.js';
import { decodeMetricRequest } from './request.js';
import { scanMetricEnvelope, type MetricEnvelope } from './metric-request.js';
import { admitCost } from '../../core/call-cost.js';
import type { ServiceContext } from './service-context.js';
import type { CoreContext, FrontEnd } from '../../core/context.js';
import { answered, callStarted, failed } from './service-context.js';
import { writeToSink } from '../../core/sink-call.js';
import type { Sink } from '../../sinks/sink.js';
import type { MetricRecord } from '../../record/types.js';

/** ReportResult has no fields: its encoding is empty. */
const REPORT_RESULT = Buffer.alloc(0);

/** Requests smaller than this are decoded inline (a handful of instances)... */
export const OFFLOAD_MIN_BYTES = 4096;
/** ...unless they hold this many instances (two bytes each at the least): the main thread stays free for HTTP/2. */
export const OFFLOAD_MIN_INSTANCES = 128;

/** The records of a request decoded on this thread; undefined when it carries none. */
export function inlineRecords(ctx: CoreContext, bytes: Buffer, frontEnd: FrontEnd) {
  const req = decodeMetricRequest(bytes, ctx.maxDecodeBytes);
  const handler = ctx.handlers.resolve(req.adapter_config);
  const callCtx = { dedupId: req.dedup_id, receivedAt: ctx.receivedAt(), config: handler.config.view };
  const records = req.instances.map((instance, i) => metricRecord(instance, i, callCtx));
  ctx.metrics.instances('metric', handler.id, records.length, frontEnd);
  return records.length > 0 ? { handler, list: records } : undefined;
}

async function offloaded(ctx: ServiceContext, bytes: Buffer, envelope: MetricEnvelope): Promise<void> {
  const pool = ctx.decodePool!;
  const handler = ctx.handlers.resolve(envelope.adapterConfig);
  if (envelope.instanceCount === 0) return;
  const receivedAt = ctx.receivedAt();
  await writeToSink(
    ctx,
    handler,
    async (sink: Sink, signal: AbortSignal) => {
      if (!sink.acceptsEncoded) {
        const records = inlineRecords(ctx, bytes, 'mixer');
        if (records) await sink.write(records.list, signal);
        return;
      }
      // The worker counts the whole cost before it decodes (see decode-worker.ts).
      const { encoded, instances } = await pool.encodeMetric(
        bytes,
        handler.sinkSpec.format,
        handler.config.view,
        receivedAt,
        ctx.maxDecodeBytes,
      );
      ctx.metrics.instances('metric', handler.id, instances, 'mixer');
      signal.throwIfAborted(); // the deadline passed while the worker encoded
      await sink.writeEncoded(encoded, signal);
    },
    undefined,
  );
}

const writeRecords = (sink: Sink, signal: AbortSignal, records: readonly MetricRecord[]): Promise<void> =>
  sink.write(records, signal);

const METHOD = 'HandleMetric';

export function handleMetric(ctx: ServiceContext): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => void report(ctx, callback, call.request);
}

/** One report, answered from here: one async function per call (each costs ~0.4 KB of heap). */
async function report(ctx: ServiceContext, callback: sendUnaryData<Buffer>, bytes: Buffer): Promise<void> {
  const started = callStarted(ctx);
  try {
    const envelope = ctx.decodePool ? scanMetricEnvelope(bytes) : undefined;
    if (envelope) {
      // The instances alone, counted at the top level, may already be too many.
      admitCost({ bytes: bytes.length, instances: envelope.instanceCount, mapEntries: 0 }, ctx.maxDecodeBytes);
    }
    if (envelope && (bytes.length >= OFFLOAD_MIN_BYTES || envelope.instanceCount >= OFFLOAD_MIN_INSTANCES)) {
      await offloaded(ctx, bytes, envelope);
    } else {
      const records = inlineRecords(ctx, bytes, 'mixer');
      if (records) await writeToSink(ctx, records.handler, writeRecords, records.list);
    }
  } catch (err) {
    failed(ctx, METHOD, callback, started, err);
    return;
  }
  answered(ctx, METHOD, callback, started, REPORT_RESULT);
}

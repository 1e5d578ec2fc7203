// A decode worker: metric request bytes in, formatted record bytes out, on a
// thread of its own so the main thread keeps serving gRPC while large report
// batches are decoded and formatted (see decode-pool.ts).
import { parentPort } from 'node:worker_threads';
import { InvalidInputError } from '../../common/errors.js';
import { metricRecord } from './instance.js';
import { decodeMetricRequest } from './request.js';
import { formatters } from '../../format/index.js';
import { CallTooLargeError } from '../../core/call-cost.js';
import type { DecodeJob, DecodeResult } from './decode-pool.js';

const encoder = new TextEncoder();

function run(job: DecodeJob): DecodeResult {
  try {
    const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
    // Counted here, off the main thread, before anything is decoded (see request.ts).
    const req = decodeMetricRequest(bytes, job.maxDecodeBytes);
    const ctx = { dedupId: req.dedup_id, receivedAt: job.receivedAt, config: job.config };
    const records = req.instances.map((instance, i) => metricRecord(instance, i, ctx));
    // TextEncoder gives a buffer of its own, safe to transfer (Buffer.from may hand out a shared pool slab).
    const encoded = records.length > 0 ? encoder.encode(formatters[job.format](records)) : new Uint8Array(0);
    return { id: job.id, ok: true, encoded, instances: records.length };
  } catch (err) {
    const message = (err as Error).message;
    return {
      id: job.id,
      ok: false,
      invalid: err instanceof InvalidInputError,
      tooLarge: err instanceof CallTooLargeError,
      message,
    };
  }
}

parentPort?.on('message', (job: DecodeJob) => {
  const result = run(job);
  // The encoded bytes are moved to the main thread, not copied.
  parentPort!.postMessage(result, result.ok ? [result.encoded.buffer as ArrayBuffer] : []);
});

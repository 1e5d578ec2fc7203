// Worker threads that decode and format large metric batches. Mixer sends
// reports of hundreds of instances; decoding and formatting them is most of
// the adapter's CPU, and Node runs JavaScript on one thread. Handing that to
// workers lets the main thread keep answering gRPC on another core.
import { Piscina } from 'piscina';
import type { FormatName } from '../../core/params/params.js';
import { InvalidInputError } from '../../common/errors.js';
import { CallTooLargeError } from '../../core/call-cost.js';
import type { Logger } from '../../log.js';
import type { ConfigView } from '../../record/types.js';

export interface DecodeJob {
  id: number;
  /** The HandleMetricRequest bytes (a copy, transferred to the worker). */
  bytes: Uint8Array;
  format: FormatName;
  config: ConfigView;
  receivedAt: string;
  /** The per-call bound, checked on the request's counted cost before decoding. */
  maxDecodeBytes: number;
}

export type DecodeResult =
  | { id: number; ok: true; encoded: Uint8Array; instances: number }
  | { id: number; ok: false; invalid: boolean; tooLarge: boolean; message: string };

export interface Encoded {
  /** The records formatted for the sink, ready to append. */
  encoded: Buffer;
  instances: number;
}

// Measured with compare.sh on metric100_file c=64: 8 MB kept throughput (1.18x
// of Go vs 1.15x at V8's default) and cut peak RSS from 209 to 193 MB; 4 MB
// (issue 15) trims the worker's heap further, and its more frequent scavenges
// run on the worker, not in the way of calls on the main thread.
const WORKER_YOUNG_GENERATION_MB = 4;

/**
 * A worker's old generation holds one call's decoded batch at a time (jobs run
 * one after another), bounded by --max-decode-bytes; twice that plus the
 * code leaves room for garbage. A worker that still runs out is ended by V8
 * alone (its call fails, another worker starts), never the process.
 */
function workerOldGenerationMb(maxDecodeBytes: number): number {
  return Math.max(64, Math.ceil((2 * maxDecodeBytes) / (1024 * 1024)) + 32);
}

/** The built worker script; sources run by the tests use the build too (npm test builds first). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.js')) return new URL('./decode-worker.js', here);
  return new URL('../../../dist/src/frontends/mixer/decode-worker.js', here);
}

/**
 * Workers start on the first large batch, so an adapter that only answers
 * checks and small reports never pays for their memory. Piscina runs the
 * pool: the least busy worker takes each job, a worker that dies fails only
 * its own jobs and is replaced.
 */
export class DecodePool {
  private pool: Piscina<DecodeJob, DecodeResult> | undefined;
  private nextId = 1;

  constructor(
    private readonly size: number,
    private readonly log: Logger,
    /** The per-call bound the server enforces before a job is sent (sizes each worker's heap). */
    private readonly maxDecodeBytes = 32 * 1024 * 1024,
  ) {}

  /** Workers running now (0 until the first job). */
  get running(): number {
    return this.pool?.threads.length ?? 0;
  }

  private start(): Piscina<DecodeJob, DecodeResult> {
    const pool = new Piscina<DecodeJob, DecodeResult>({
      filename: workerUrl().href,
      minThreads: this.size,
      maxThreads: this.size,
      // Workers stay for the life of the adapter once started.
      idleTimeout: Number.POSITIVE_INFINITY,
      // A small young generation: a worker's garbage is short-lived per batch, and
      // V8's default lets each worker grow tens of MB of resident memory for it.
      resourceLimits: {
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: workerOldGenerationMb(this.maxDecodeBytes),
      },
    });
    pool.on('error', (err: Error) => this.log.error({ err: err.message }, 'decode worker lost; starting another'));
    return pool;
  }

  /** Decodes a HandleMetricRequest and formats its records as `format` would, off the main thread. */
  async encodeMetric(
    bytes: Buffer,
    format: FormatName,
    config: ConfigView,
    receivedAt: string,
    maxDecodeBytes: number,
  ): Promise<Encoded> {
    this.pool ??= this.start();
    // A copy the worker can own: grpc-js's buffer may share memory with other data.
    const copy = new Uint8Array(bytes);
    const job: DecodeJob = { id: this.nextId++, bytes: copy, format, config, receivedAt, maxDecodeBytes };
    let result: DecodeResult;
    try {
      result = await this.pool.run(job, { transferList: [copy.buffer] });
    } catch (err) {
      throw new Error(`decode worker failed: ${(err as Error).message}`);
    }
    if (result.ok) {
      return {
        encoded: Buffer.from(result.encoded.buffer, result.encoded.byteOffset, result.encoded.byteLength),
        instances: result.instances,
      };
    }
    if (result.invalid) throw new InvalidInputError(result.message);
    if (result.tooLarge) throw new CallTooLargeError(result.message);
    throw new Error(result.message);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}

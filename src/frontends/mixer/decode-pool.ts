// Worker threads that decode and format large metric batches. Mixer sends
// reports of hundreds of instances; decoding and formatting them is most of
// the adapter's CPU, and Node runs JavaScript on one thread. Handing that to
// workers lets the main thread keep answering gRPC on another core.
import { Worker } from 'node:worker_threads';
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

interface Pending {
  resolve: (r: Encoded) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** The built worker script; sources run by the tests use the build too (npm test builds first). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.js')) return new URL('./decode-worker.js', here);
  return new URL('../../../dist/src/frontends/mixer/decode-worker.js', here);
}

/**
 * Workers start on the first large batch, so an adapter that only answers
 * checks and small reports never pays for their memory.
 */
export class DecodePool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closing = false;

  constructor(
    private readonly size: number,
    private readonly log: Logger,
    /** The per-call bound the server enforces before a job is sent (sizes each worker's heap). */
    private readonly maxDecodeBytes = 32 * 1024 * 1024,
  ) {}

  /** Workers running now (0 until the first job). */
  get running(): number {
    return this.slots.length;
  }

  private spawn(): Slot {
    // A small young generation: a worker's garbage is short-lived per batch, and
    // V8's default lets each worker grow tens of MB of resident memory for it.
    const slot: Slot = {
      worker: new Worker(workerUrl(), {
        resourceLimits: {
          maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
          maxOldGenerationSizeMb: workerOldGenerationMb(this.maxDecodeBytes),
        },
      }),
      pending: new Map(),
    };
    slot.worker.on('message', (result: DecodeResult) => {
      const p = slot.pending.get(result.id);
      if (!p) return;
      slot.pending.delete(result.id);
      if (result.ok) {
        p.resolve({
          encoded: Buffer.from(result.encoded.buffer, result.encoded.byteOffset, result.encoded.byteLength),
          instances: result.instances,
        });
      } else {
        p.reject(
          result.invalid
            ? new InvalidInputError(result.message)
            : result.tooLarge
              ? new CallTooLargeError(result.message)
              : new Error(result.message),
        );
      }
    });
    const fail = (why: string): void => {
      for (const p of slot.pending.values()) p.reject(new Error(`decode worker ${why}`));
      slot.pending.clear();
      if (this.closing) return;
      this.log.error({ why }, 'decode worker lost; starting another');
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    slot.worker.on('error', (err) => fail(`failed: ${err.message}`));
    slot.worker.on('exit', (code) => fail(`exited with ${code}`));
    slot.worker.unref();
    return slot;
  }

  /** Decodes a HandleMetricRequest and formats its records as `format` would, off the main thread. */
  encodeMetric(
    bytes: Buffer,
    format: FormatName,
    config: ConfigView,
    receivedAt: string,
    maxDecodeBytes: number,
  ): Promise<Encoded> {
    if (this.slots.length === 0) for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
    // The least busy worker; ties go to the first.
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    // A copy the worker can own: grpc-js's buffer may share memory with other data.
    const copy = new Uint8Array(bytes);
    return new Promise<Encoded>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const job: DecodeJob = { id, bytes: copy, format, config, receivedAt, maxDecodeBytes };
      slot.worker.postMessage(job, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

// What the file, stdout and memory sinks share: the closed state, the
// bounded group-commit writer, and turning write failures into SinkErrors.
import type { AdapterRecord } from '../record/types.js';
import {
  BatchingWriter,
  BufferFullError,
  type BufferLimits,
  type ChunkSize,
  type WriteChunks,
  type WriterEvents,
} from './batching-writer.js';
import { SinkClosedError, SinkError, type Sink } from './sink.js';

/** A promise rejected with `err` as it is (an encoder's own error, as an async write() gave it). */
// eslint-disable-next-line @typescript-eslint/require-await
const rejected = async (err: unknown): Promise<never> => {
  throw err;
};

/**
 * C is what the destination takes per call: the encoded bytes (file, stdout)
 * or the records themselves (plug-ins, memory; `size` then estimates their
 * bytes for the buffer bound).
 */
export abstract class WriterSink<C = Buffer> implements Sink {
  private closed = false;
  private readonly writer: BatchingWriter<C>;

  constructor(
    /** Names the destination in error messages, e.g. "file sink /volume/out.txt". */
    private readonly what: string,
    writeChunks: WriteChunks<C>,
    buffer: BufferLimits,
    events: WriterEvents | undefined,
    size?: ChunkSize<C>,
  ) {
    this.writer = new BatchingWriter(writeChunks, buffer, events, size, (err, signal) =>
      // A caller's own abort reason (its deadline) passes through unchanged.
      err instanceof BufferFullError || (signal?.aborted && err === signal.reason)
        ? err
        : SinkError.from(`cannot write to ${this.what}`, err),
    );
  }

  /** What represents these records on the destination. */
  protected abstract encode(records: readonly AdapterRecord[]): C;

  /** Releases the destination once everything is flushed. */
  protected abstract closeDestination(): Promise<void>;

  get isClosed(): boolean {
    return this.closed;
  }

  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  get counters() {
    return this.writer.counters;
  }

  /** Sinks that write their format's bytes unchanged say so (the memory sink does not). */
  abstract readonly acceptsEncoded: boolean;

  // write() and writeEncoded() hand the writer's promise straight back (no
  // async wrapper per call: each would add a promise and its reactions to
  // every call); the writer maps failures to SinkErrors (see the constructor).

  write(records: readonly AdapterRecord[], signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new SinkClosedError(this.what));
    if (records.length === 0) return Promise.resolve();
    let chunk: C;
    try {
      chunk = this.encode(records);
    } catch (err) {
      return rejected(err);
    }
    return this.writer.write(chunk, signal);
  }

  writeEncoded(bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new SinkClosedError(this.what));
    // Only sinks whose chunks are bytes say acceptsEncoded (callers check it).
    if (!this.acceptsEncoded) {
      return Promise.reject(new SinkError(`${this.what} takes records, not encoded bytes`, 'EINVAL'));
    }
    if (bytes.length === 0) return Promise.resolve();
    return this.writer.write(bytes as unknown as C, signal);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  reopen(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.flush();
    await this.closeDestination();
  }
}

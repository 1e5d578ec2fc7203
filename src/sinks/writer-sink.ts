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
    this.writer = new BatchingWriter(writeChunks, buffer, events, size);
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

  async write(records: readonly AdapterRecord[], signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new SinkClosedError(this.what);
    if (records.length === 0) return;
    await this.append(this.encode(records), signal);
  }

  async writeEncoded(bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new SinkClosedError(this.what);
    // Only sinks whose chunks are bytes say acceptsEncoded (callers check it).
    if (!this.acceptsEncoded) throw new SinkError(`${this.what} takes records, not encoded bytes`, 'EINVAL');
    if (bytes.length === 0) return;
    await this.append(bytes as unknown as C, signal);
  }

  private async append(chunk: C, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.writer.write(chunk, signal);
    } catch (err) {
      // A caller's own abort reason (its deadline) passes through unchanged.
      if (err instanceof BufferFullError || (signal?.aborted && err === signal.reason)) throw err;
      throw SinkError.from(`cannot write to ${this.what}`, err);
    }
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

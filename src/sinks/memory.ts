// An in-memory sink whose speed and failures can be set: for tests of
// backpressure, error paths and shutdown, and for embedding the adapter.
// It goes through the same BatchingWriter as the real sinks.
import type { AdapterRecord } from '../record/types.js';
import { BatchingWriter, UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { SinkClosedError, SinkError, type Sink } from './sink.js';

export interface MemorySinkControl {
  /** Every record written, in order. */
  readonly records: AdapterRecord[];
  /** Milliseconds each group write takes. */
  delayMs: number;
  /** When set, group writes fail with this errno code (e.g. "ENOSPC"). */
  failWith: string | undefined;
}

export class MemorySink implements Sink {
  private closed = false;
  private readonly writer: BatchingWriter;
  private readonly pending = new Map<Buffer, readonly AdapterRecord[]>();

  constructor(
    readonly control: MemorySinkControl,
    buffer: BufferLimits = UNBOUNDED,
    events?: WriterEvents,
  ) {
    this.writer = new BatchingWriter(
      async (chunks) => {
        if (control.delayMs > 0) await new Promise((r) => setTimeout(r, control.delayMs));
        if (control.failWith) throw new SinkError(`memory sink told to fail: ${control.failWith}`, control.failWith);
        for (const c of chunks) {
          control.records.push(...(this.pending.get(c) ?? []));
          this.pending.delete(c);
        }
      },
      buffer,
      events,
    );
  }

  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  get counters() {
    return this.writer.counters;
  }

  async write(records: readonly AdapterRecord[]): Promise<void> {
    if (this.closed) throw new SinkClosedError('memory sink');
    if (records.length === 0) return;
    // The writer counts bytes; a JSON rendering gives each batch a realistic size.
    const chunk = Buffer.from(JSON.stringify(records));
    this.pending.set(chunk, records);
    try {
      await this.writer.write(chunk);
    } finally {
      this.pending.delete(chunk);
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
  }
}

export function memorySinkControl(): MemorySinkControl {
  return { records: [], delayMs: 0, failWith: undefined };
}

// Writes formatted records to a stream (process stdout by default), one
// write at a time, each awaited: the stream's own buffer never grows beyond
// one group of calls, which is how this sink respects backpressure.
import type { Writable } from 'node:stream';
import type { Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { BatchingWriter, BufferFullError, UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { SinkClosedError, SinkError, type Sink } from './sink.js';

export class StreamSink implements Sink {
  private closed = false;
  private readonly writer: BatchingWriter;

  constructor(
    private readonly stream: Writable,
    private readonly format: Formatter,
    buffer: BufferLimits = UNBOUNDED,
    events?: WriterEvents,
  ) {
    // Errors also arrive through the write callbacks; without a listener an
    // EPIPE on stdout would be thrown as an uncaught exception.
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
    this.writer = new BatchingWriter(
      (chunks) =>
        new Promise<void>((resolve, reject) => {
          const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          this.stream.write(data, (err) => (err ? reject(err) : resolve()));
        }),
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
    if (this.closed) throw new SinkClosedError('stdout sink');
    if (records.length === 0) return;
    try {
      await this.writer.write(Buffer.from(this.format(records)));
    } catch (err) {
      if (err instanceof BufferFullError) throw err;
      throw SinkError.from('cannot write to stdout', err);
    }
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Nothing to reopen: the stream belongs to the process. */
  reopen(): Promise<void> {
    return Promise.resolve();
  }

  /** Flushes; the stream itself stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.flush();
  }
}

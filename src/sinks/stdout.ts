// Writes formatted records to a stream (process stdout by default), one
// write at a time, each awaited: the stream's own buffer never grows beyond
// one group of calls, which is how this sink respects backpressure.
import type { Writable } from 'node:stream';
import type { Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { WriterSink } from './writer-sink.js';

export class StreamSink extends WriterSink {
  constructor(
    stream: Writable,
    private readonly format: Formatter,
    buffer: BufferLimits = UNBOUNDED,
    events?: WriterEvents,
  ) {
    super(
      'stdout',
      (chunks) =>
        new Promise<void>((resolve, reject) => {
          const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          stream.write(data, (err) => (err ? reject(err) : resolve()));
        }),
      buffer,
      events,
    );
    // Errors also arrive through the write callbacks; without a listener an
    // EPIPE on stdout would be thrown as an uncaught exception.
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }

  readonly acceptsEncoded = true;

  protected encode(records: readonly AdapterRecord[]): Buffer {
    return Buffer.from(this.format(records));
  }

  /** The stream belongs to the process and stays open. */
  protected closeDestination(): Promise<void> {
    return Promise.resolve();
  }
}

// Writes formatted records to a stream (process stdout by default), one
// write at a time, each awaited: the stream's own buffer never grows beyond
// one group of calls, which is how this sink respects backpressure.
//
// Records of a call that gave up (its deadline passed, it was answered
// DEADLINE_EXCEEDED) are dropped as long as the stream has not been handed
// them. The writer drops them while they queue; several sinks on one stream
// (stdout in text and in json) also take turns on it, so a group never waits
// inside the stream behind another sink's stuck write, where it could no
// longer be taken back, and it is looked at once more when its turn comes.
// A group already handed over is written when the reader comes back, even if
// its calls were answered DEADLINE_EXCEEDED meanwhile: bytes in a pipe cannot
// be recalled without tearing a record (docs/operations.md, Broken destinations).
import type { Writable } from 'node:stream';
import { encoderOf, type Encoder, type Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { UNBOUNDED, type BufferLimits, type WriterCounters, type WriterEvents } from './batching-writer.js';
import { WriterSink } from './writer-sink.js';

/**
 * The turns the sinks on one stream take: each write handed to it starts
 * once the one before has completed (or failed). Whoever owns the stream
 * holds one (the sink pool, for stdout) and gives it to every sink on it.
 */
export class StreamTurns {
  private last: Promise<void> = Promise.resolve();

  run(work: () => Promise<void>): Promise<void> {
    const done = this.last.then(work);
    this.last = done.catch(() => undefined);
    return done;
  }
}

/** Bytes of the chunks a group left out, for the writer's counts. */
interface Dropped {
  lastGroup: number;
  total: number;
}

export class StreamSink extends WriterSink {
  private readonly dropped: Dropped;
  private readonly encodeRecords: Encoder;

  constructor(
    stream: Writable,
    format: Formatter,
    buffer: BufferLimits = UNBOUNDED,
    events?: WriterEvents,
    /** Shared by every sink on `stream`; a sink alone on it may leave the default. */
    turns: StreamTurns = new StreamTurns(),
  ) {
    const dropped: Dropped = { lastGroup: 0, total: 0 };
    super(
      'stdout',
      (chunks, signals) =>
        turns.run(() => {
          const live: Buffer[] = [];
          dropped.lastGroup = 0;
          for (let i = 0; i < chunks.length; i++) {
            const c = chunks[i]!;
            // Its caller gave up while the group waited for its turn.
            if (signals[i]?.aborted === true) dropped.lastGroup += c.length;
            else live.push(c);
          }
          dropped.total += dropped.lastGroup;
          if (live.length === 0) return Promise.resolve();
          return new Promise<void>((resolve, reject) => {
            const data = live.length === 1 ? live[0]! : Buffer.concat(live);
            stream.write(data, (err) => (err ? reject(err) : resolve()));
          });
        }),
      buffer,
      // Bytes left out were not written: the metrics must not say they were.
      events && {
        ...events,
        groupWritten: (bytes, seconds) => events.groupWritten?.(bytes - dropped.lastGroup, seconds),
      },
    );
    this.dropped = dropped;
    this.encodeRecords = encoderOf(format);
    // Errors also arrive through the write callbacks; without a listener an
    // EPIPE on stdout would be thrown as an uncaught exception.
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }

  readonly acceptsEncoded = true;

  override get counters(): WriterCounters {
    const counters = super.counters;
    return { ...counters, bytesWritten: counters.bytesWritten - this.dropped.total };
  }

  protected encode(records: readonly AdapterRecord[]): Buffer {
    return this.encodeRecords(records);
  }

  /** The stream belongs to the process and stays open. */
  protected closeDestination(): Promise<void> {
    return Promise.resolve();
  }
}

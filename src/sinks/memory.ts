// An in-memory sink whose speed and failures can be set: for tests of
// backpressure, error paths and shutdown, and for embedding the adapter.
// It goes through the same bounded writer as the real sinks.
import { estimatedRecordBytes } from '../record/size.js';
import type { AdapterRecord } from '../record/types.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { SinkError } from './sink.js';
import { WriterSink } from './writer-sink.js';

export interface MemorySinkControl {
  /** Every record written, in order. */
  readonly records: AdapterRecord[];
  /** Milliseconds each group write takes. */
  delayMs: number;
  /** When set, group writes fail with this errno code (e.g. "ENOSPC"). */
  failWith: string | undefined;
}

export class MemorySink extends WriterSink<readonly AdapterRecord[]> {
  constructor(
    readonly control: MemorySinkControl,
    buffer: BufferLimits = UNBOUNDED,
    events?: WriterEvents,
  ) {
    super(
      'memory sink',
      async (chunks) => {
        if (control.delayMs > 0) await new Promise((r) => setTimeout(r, control.delayMs));
        if (control.failWith) throw new SinkError(`told to fail: ${control.failWith}`, control.failWith);
        for (const c of chunks) control.records.push(...c);
      },
      buffer,
      events,
      estimatedRecordBytes,
    );
  }

  readonly acceptsEncoded = false;

  protected encode(records: readonly AdapterRecord[]): readonly AdapterRecord[] {
    return records;
  }

  protected closeDestination(): Promise<void> {
    return Promise.resolve();
  }
}

export function memorySinkControl(): MemorySinkControl {
  return { records: [], delayMs: 0, failWith: undefined };
}

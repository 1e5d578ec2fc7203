// A sink that takes records into memory only while its gate is open: closed,
// every write waits (a stalled destination), through the same bounded
// group-commit writer as the real sinks. For tests of back-pressure.
import { estimatedRecordBytes } from '../../src/record/size.js';
import type { AdapterRecord } from '../../src/record/types.js';
import type { SinkFactory } from '../../src/sinks/registry.js';
import { WriterSink } from '../../src/sinks/writer-sink.js';

export interface Gate {
  /** Every record written, in order. */
  readonly records: AdapterRecord[];
  /** Group writes started (and waiting while the gate is closed). */
  started: number;
  close(): void;
  open(): void;
}

export function gatedSink(): { gate: Gate; factory: SinkFactory } {
  let opened: Promise<void> = Promise.resolve();
  let release: (() => void) | undefined;
  const gate: Gate = {
    records: [],
    started: 0,
    close: () => {
      if (release) return;
      opened = new Promise((r) => (release = r));
    },
    open: () => {
      release?.();
      release = undefined;
    },
  };
  class GatedSink extends WriterSink<readonly AdapterRecord[]> {
    readonly acceptsEncoded = false;
    constructor(env: Parameters<SinkFactory>[1]) {
      super(
        'gated sink',
        async (chunks) => {
          gate.started++;
          await opened;
          for (const c of chunks) gate.records.push(...c);
        },
        env.buffer,
        undefined,
        estimatedRecordBytes,
      );
    }
    protected encode(records: readonly AdapterRecord[]): readonly AdapterRecord[] {
      return records;
    }
    protected closeDestination(): Promise<void> {
      return Promise.resolve();
    }
  }
  return { gate, factory: (_spec, env) => Promise.resolve(new GatedSink(env)) };
}

// The sink contract. A sink appends the records of one call and resolves
// only once they are handed on (to the operating system, a registry, a
// peer); that is what lets the server answer OK to Mixer. Sinks know nothing
// of gRPC: they see the record types of src/record/ only.
import type { FormatName } from '../core/params/params.js';
import type { PrometheusSettings } from '../core/params/prometheus-params.js';
import type { AdapterRecord } from '../record/types.js';
import type { WriterCounters } from './batching-writer.js';

/**
 * What every sink does, and all a --sink-module plug-in implements (its
 * module exports `createSink(spec, env)` returning one, or a promise of one).
 */
export interface RecordSink {
  /**
   * Hands on the records (of one call, or of several calls grouped). Resolves
   * only once they are handed on; rejects (ideally with an Error whose `code`
   * says why, e.g. "ECONNREFUSED") otherwise. Never drops records silently.
   */
  write(records: readonly AdapterRecord[]): Promise<void>;
  /** Resolves when everything accepted so far is handed on. Optional for plug-ins. Idempotent. */
  flush?(): Promise<void>;
  /** Flushes, then releases the destination. Idempotent; later writes reject. */
  close(): Promise<void>;
}

export interface Sink extends RecordSink {
  /**
   * Appends the records of one call. Rejects with SinkError when they could
   * not be written, or BufferFullError when the buffer stayed full; never
   * drops silently. When `signal` aborts (the caller's deadline passed), a
   * sink may reject with `signal.reason` and should then not write the
   * records later if it still can help it.
   */
  write(records: readonly AdapterRecord[], signal?: AbortSignal): Promise<void>;
  /**
   * True when the sink appends its spec's format as is, so records formatted
   * elsewhere (a decode worker) can go through writeEncoded.
   */
  readonly acceptsEncoded: boolean;
  /** Appends records already formatted in the sink's format; same guarantees as write(). */
  writeEncoded(bytes: Buffer, signal?: AbortSignal): Promise<void>;
  /** Resolves when everything accepted so far is written. */
  flush(): Promise<void>;
  /** Flushes, then releases the destination. Idempotent; later writes reject with SinkClosedError. */
  close(): Promise<void>;
  /** Reopens the destination (after logrotate moved the file); no-op where that means nothing. */
  reopen(): Promise<void>;
  /** Bytes accepted but not yet written. */
  readonly bufferedBytes: number;
  readonly counters: WriterCounters;
}

/** What identifies a sink: its type key, its destination and its record format. */
export interface SinkSpec {
  /** "file", "stdout", "prometheus", or a --sink-module NAME. */
  readonly type: string;
  /** File path (already resolved) for "file"; "" for every other type. */
  readonly path: string;
  readonly format: FormatName;
  /** The metrics of sink "prometheus" (from Params fields 10-12). */
  readonly prometheus?: PrometheusSettings | undefined;
}

/** SinkError code: the destination exists but is not a regular file (FIFO, socket, device). */
export const NOT_REGULAR_FILE = 'ENOTREG';
/** SinkError code: the caller stopped waiting for the write (its deadline passed). */
export const WRITE_DEADLINE = 'EDEADLINE';
/** SinkError code: another sink already writes this destination in another format. */
export const DESTINATION_TAKEN = 'ETAKEN';

/** A write or open that failed; `code` is the errno code (ENOENT, ENOSPC, EACCES...) when there is one. */
export class SinkError extends Error {
  override name = 'SinkError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }

  static from(action: string, err: unknown): SinkError {
    if (err instanceof SinkError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return new SinkError(`${action}: ${(err as Error | undefined)?.message ?? String(err)}`, code);
  }
}

export class SinkClosedError extends SinkError {
  override name = 'SinkClosedError';
  constructor(what: string) {
    super(`${what} is closed`, 'ECLOSED');
  }
}

// Group commit with a bounded buffer. A group starts on setImmediate, after
// every call that arrived in the same socket read has queued its chunk (a
// synchronous destination such as stdout on a file would otherwise take one
// syscall per call); while one write is in flight, later chunks queue up and
// go out together in the next write. Every caller still learns whether its
// own bytes reached the OS. Queued plus in-flight bytes are capped; a chunk that
// does not fit waits for room, and after `maxWaitMs` it is refused with
// BufferFullError (never dropped silently).

export class BufferFullError extends Error {
  override name = 'BufferFullError';
}

interface Pending {
  chunk: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  bytes: number;
  admit: () => void;
}

export type WriteChunks = (chunks: Buffer[]) => Promise<void>;

export interface BufferLimits {
  /** Most bytes queued or in flight at once; a single larger chunk is still admitted when the buffer is empty. */
  maxBytes: number;
  /** How long a chunk may wait for room before it is refused. */
  maxWaitMs: number;
}

export const UNBOUNDED: BufferLimits = { maxBytes: Number.POSITIVE_INFINITY, maxWaitMs: 0 };

/** What a writer tells its owner as it goes (metrics hang off these). */
export interface WriterEvents {
  groupWritten?(bytes: number, seconds: number): void;
  /** A chunk was refused because the buffer stayed full. */
  refused?(): void;
  /** A group write failed; `chunks` calls got the error. */
  failed?(chunks: number): void;
}

/** What a writer reports about itself (read by metrics and tests). */
export interface WriterCounters {
  bytesWritten: number;
  groupsWritten: number;
  failedChunks: number;
  refusedChunks: number;
}

/** Resolves after the poll phase: the calls read together have all queued by then. */
function nextCheckPhase(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class BatchingWriter {
  private queue: Pending[] = [];
  private inFlight: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private buffered = 0;
  readonly counters: WriterCounters = { bytesWritten: 0, groupsWritten: 0, failedChunks: 0, refusedChunks: 0 };

  constructor(
    private readonly writeChunks: WriteChunks,
    private readonly limits: BufferLimits = UNBOUNDED,
    private readonly events: WriterEvents = {},
  ) {}

  /** Bytes accepted but not yet written. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  async write(chunk: Buffer): Promise<void> {
    await this.admit(chunk.length);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject });
      this.inFlight ??= nextCheckPhase().then(() => this.drain());
    });
  }

  /** Resolves once every chunk accepted before the call is settled (written or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private admit(bytes: number): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.buffered += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        admit: () => {
          clearTimeout(timer);
          this.buffered += bytes;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.counters.refusedChunks++;
        this.events.refused?.();
        reject(
          new BufferFullError(
            `sink buffer full (${this.buffered} of ${this.limits.maxBytes} bytes queued) for ${this.limits.maxWaitMs} ms`,
          ),
        );
        this.wakeWaiters(); // a large refused chunk may have held up smaller ones behind it
      }, this.limits.maxWaitMs);
      this.waiters.push(waiter);
    });
  }

  private fits(bytes: number): boolean {
    return this.buffered === 0 || this.buffered + bytes <= this.limits.maxBytes;
  }

  /** Admits waiting chunks in arrival order while they fit. */
  private wakeWaiters(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      this.waiters.shift()!.admit();
    }
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      const chunks = group.map((p) => p.chunk);
      const bytes = chunks.reduce((n, c) => n + c.length, 0);
      const started = process.hrtime.bigint();
      try {
        await this.writeChunks(chunks);
        this.counters.bytesWritten += bytes;
        this.counters.groupsWritten++;
        this.events.groupWritten?.(bytes, Number(process.hrtime.bigint() - started) / 1e9);
        for (const p of group) p.resolve();
      } catch (err) {
        this.counters.failedChunks += group.length;
        this.events.failed?.(group.length);
        for (const p of group) p.reject(err);
      } finally {
        this.buffered -= bytes;
        this.wakeWaiters();
      }
    }
    this.inFlight = undefined;
  }
}

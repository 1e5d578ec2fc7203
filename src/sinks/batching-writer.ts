// Group commit with a bounded buffer. A group starts on setImmediate, after
// every call that arrived in the same socket read has queued its chunk (a
// synchronous destination such as stdout on a file would otherwise take one
// syscall per call); while one write is in flight, later chunks queue up and
// go out together in the next write. Every caller still learns whether its
// own bytes reached the OS. Queued plus in-flight bytes are capped; a chunk that
// does not fit waits for room, and after `maxWaitMs` it is refused with
// BufferFullError (never dropped silently). A chunk whose caller gave up (its
// signal aborted) is dropped, not written, if no write has taken it yet; the
// signal is read, not listened to (listeners on an AbortSignal cost ~10 µs).

export class BufferFullError extends Error {
  override name = 'BufferFullError';
}

/** One caller's chunk, from write() until it is written, refused or dropped. */
interface Pending<C> {
  chunk: C;
  /** The chunk's size as the buffer bound counts it. */
  bytes: number;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** While it waits for room: refuses it after maxWaitMs. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Writes one group. `signals[i]` is the signal of the caller of `chunks[i]`:
 * a destination that waits before it starts (its turn on a shared stream)
 * can leave out the chunks whose callers have given up by then.
 */
export type WriteChunks<C = Buffer> = (chunks: C[], signals: readonly (AbortSignal | undefined)[]) => Promise<void>;

/** How many bytes a chunk counts against the bound; for Buffers, their length. */
export type ChunkSize<C> = (chunk: C) => number;

const bufferLength: ChunkSize<Buffer> = (chunk) => chunk.length;

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

/** Turns a failure into what the caller of write() gets (the sink's own error type); identity by default. */
export type MapError = (err: unknown, signal: AbortSignal | undefined) => unknown;

// Module-level so that no closure is made per call.
const callerGaveUp = (p: { signal: AbortSignal | undefined }): boolean => p.signal?.aborted === true;

/**
 * C is what a group write takes: Buffers for sinks that write bytes (file,
 * stdout), record arrays for those that take records (plug-ins, memory), so
 * records never pass through bytes only to be parsed back.
 *
 * Per call this costs one promise and its Pending (a write sits on every
 * call's path), per group one setImmediate and one pass of drain().
 */
export class BatchingWriter<C = Buffer> {
  private queue: Pending<C>[] = [];
  private inFlight: Promise<void> | undefined;
  private waiters: Pending<C>[] = [];
  private buffered = 0;
  readonly counters: WriterCounters = { bytesWritten: 0, groupsWritten: 0, failedChunks: 0, refusedChunks: 0 };

  constructor(
    private readonly writeChunks: WriteChunks<C>,
    private readonly limits: BufferLimits = UNBOUNDED,
    private readonly events: WriterEvents = {},
    private readonly size: ChunkSize<C> = bufferLength as unknown as ChunkSize<C>,
    private readonly mapError: MapError | undefined = undefined,
  ) {}

  /** Bytes accepted but not yet written. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  write(chunk: C, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        signal?.throwIfAborted();
        const bytes = this.size(chunk);
        const p: Pending<C> = { chunk, bytes, signal, resolve, reject, timer: undefined };
        if (this.waiters.length === 0 && this.fits(bytes)) {
          this.buffered += bytes;
          this.enqueue(p);
        } else {
          this.wait(p);
        }
      } catch (err) {
        const fail: (err: unknown) => void = reject; // what the caller gets is mapError's to say
        fail(this.mapped(err, signal));
      }
    });
  }

  /** Resolves once every chunk accepted before the call is settled (written or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private mapped(err: unknown, signal: AbortSignal | undefined): unknown {
    return this.mapError ? this.mapError(err, signal) : err;
  }

  private fail(p: Pending<C>, err: unknown): void {
    p.reject(this.mapped(err, p.signal));
  }

  private enqueue(p: Pending<C>): void {
    this.queue.push(p);
    this.inFlight ??= this.drain();
  }

  /** Waits for room; refused after maxWaitMs (dropped sooner when its caller gives up). */
  private wait(p: Pending<C>): void {
    p.timer = setTimeout(() => {
      this.waiters = this.waiters.filter((w) => w !== p);
      if (p.signal?.aborted) {
        this.fail(p, p.signal.reason);
        this.wakeWaiters();
        return;
      }
      this.counters.refusedChunks++;
      this.events.refused?.();
      this.fail(
        p,
        new BufferFullError(
          `sink buffer full (${this.buffered} of ${this.limits.maxBytes} bytes queued) for ${this.limits.maxWaitMs} ms`,
        ),
      );
      this.wakeWaiters(); // a large refused chunk may have held up smaller ones behind it
    }, this.limits.maxWaitMs);
    this.waiters.push(p);
  }

  private fits(bytes: number): boolean {
    return this.buffered === 0 || this.buffered + bytes <= this.limits.maxBytes;
  }

  /** Admits waiting chunks in arrival order while they fit; those whose caller gave up go first. */
  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    if (this.waiters.some(callerGaveUp)) {
      const [gone, left] = partition(this.waiters, callerGaveUp);
      this.waiters = left;
      for (const w of gone) {
        clearTimeout(w.timer);
        this.fail(w, w.signal!.reason);
      }
    }
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      this.buffered += w.bytes;
      this.enqueue(w);
    }
  }

  /** Writes groups until the queue is empty; the first starts on the next check phase. */
  private async drain(): Promise<void> {
    await nextCheckPhase();
    while (this.queue.length > 0) {
      let group = this.queue;
      this.queue = [];
      if (group.some(callerGaveUp)) {
        const [gone, live] = partition(group, callerGaveUp);
        for (const p of gone) {
          this.buffered -= p.bytes;
          this.fail(p, p.signal!.reason);
        }
        group = live;
        if (group.length === 0) continue;
      }
      const chunks: C[] = [];
      const signals: (AbortSignal | undefined)[] = [];
      let bytes = 0;
      for (const p of group) {
        chunks.push(p.chunk);
        signals.push(p.signal);
        bytes += p.bytes;
      }
      // The clock is read only for whoever times the writes (metrics).
      const started = this.events.groupWritten ? process.hrtime.bigint() : 0n;
      try {
        await this.writeChunks(chunks, signals);
        this.counters.bytesWritten += bytes;
        this.counters.groupsWritten++;
        this.events.groupWritten?.(bytes, Number(process.hrtime.bigint() - started) / 1e9);
        for (const p of group) p.resolve();
      } catch (err) {
        this.counters.failedChunks += group.length;
        this.events.failed?.(group.length);
        for (const p of group) this.fail(p, err);
      } finally {
        this.buffered -= bytes;
        this.wakeWaiters();
      }
    }
    this.inFlight = undefined;
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

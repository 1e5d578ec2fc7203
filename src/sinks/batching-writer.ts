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

interface Pending<C> {
  chunk: C;
  /** The chunk's size as the buffer bound counts it. */
  bytes: number;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Waiter {
  bytes: number;
  signal: AbortSignal | undefined;
  admit: () => void;
  /** The caller gave up: reject with its reason, without counting a refusal. */
  drop: () => void;
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
  /** A bound over several writers' bytes together (every sink's), besides each one's own. */
  shared?: SharedBytes;
}

/**
 * Bytes queued or in flight over several writers, bounded as a whole: each
 * writer's own bound keeps one stalled sink from taking all of it. A writer
 * with chunks waiting for room listens for bytes freed by the others.
 */
export class SharedBytes {
  private used = 0;
  private readonly waiting = new Set<() => void>();

  constructor(readonly maxBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Like a writer's own bound: a single larger chunk is still admitted when nothing is held. */
  fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.maxBytes;
  }

  take(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of [...this.waiting]) wake();
  }

  /** `wake` runs whenever bytes are released, until it is left out again. */
  listen(wake: () => void): void {
    this.waiting.add(wake);
  }

  unlisten(wake: () => void): void {
    this.waiting.delete(wake);
  }
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

/**
 * C is what a group write takes: Buffers for sinks that write bytes (file,
 * stdout), record arrays for those that take records (plug-ins, memory), so
 * records never pass through bytes only to be parsed back.
 */
export class BatchingWriter<C = Buffer> {
  private queue: Pending<C>[] = [];
  private inFlight: Promise<void> | undefined;
  private waiters: Waiter[] = [];
  private buffered = 0;
  readonly counters: WriterCounters = { bytesWritten: 0, groupsWritten: 0, failedChunks: 0, refusedChunks: 0 };

  constructor(
    private readonly writeChunks: WriteChunks<C>,
    private readonly limits: BufferLimits = UNBOUNDED,
    private readonly events: WriterEvents = {},
    private readonly size: ChunkSize<C> = bufferLength as unknown as ChunkSize<C>,
  ) {}

  /** Bytes accepted but not yet written. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  async write(chunk: C, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const bytes = this.size(chunk);
    await this.admit(bytes, signal);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, bytes, signal, resolve, reject });
      this.inFlight ??= nextCheckPhase().then(() => this.drain());
    });
  }

  /** Resolves once every chunk accepted before the call is settled (written or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private admit(bytes: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        signal,
        admit: () => {
          clearTimeout(timer);
          this.take(bytes);
          resolve();
        },
        drop: () => {
          clearTimeout(timer);
          reject(signal!.reason as Error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.listenIfWaiting();
        if (signal?.aborted) {
          waiter.drop();
          this.wakeWaiters();
          return;
        }
        this.counters.refusedChunks++;
        this.events.refused?.();
        reject(
          new BufferFullError(
            `sink buffer full (${this.buffered} of ${this.limits.maxBytes} bytes queued${this.sharedNote()}) for ${this.limits.maxWaitMs} ms`,
          ),
        );
        this.wakeWaiters(); // a large refused chunk may have held up smaller ones behind it
      }, this.limits.maxWaitMs);
      this.waiters.push(waiter);
      this.listenIfWaiting();
    });
  }

  private fits(bytes: number): boolean {
    const own = this.buffered === 0 || this.buffered + bytes <= this.limits.maxBytes;
    return own && (this.limits.shared?.fits(bytes) ?? true);
  }

  private sharedNote(): string {
    const shared = this.limits.shared;
    return shared ? `, ${shared.usedBytes} of ${shared.maxBytes} over all sinks` : '';
  }

  private take(bytes: number): void {
    this.buffered += bytes;
    this.limits.shared?.take(bytes);
  }

  private release(bytes: number): void {
    this.buffered -= bytes;
    this.limits.shared?.release(bytes);
  }

  /** Other writers' releases wake this one's waiters while it has any. */
  private readonly wake = (): void => this.wakeWaiters();

  private listenIfWaiting(): void {
    const shared = this.limits.shared;
    if (!shared) return;
    if (this.waiters.length > 0) shared.listen(this.wake);
    else shared.unlisten(this.wake);
  }

  /** Admits waiting chunks in arrival order while they fit; those whose caller gave up go first. */
  private wakeWaiters(): void {
    if (this.waiters.some((w) => w.signal?.aborted)) {
      const [gone, left] = partition(this.waiters, (w) => w.signal?.aborted === true);
      this.waiters = left;
      for (const w of gone) w.drop();
    }
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      this.waiters.shift()!.admit();
    }
    this.listenIfWaiting();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      let group = this.queue;
      this.queue = [];
      if (group.some((p) => p.signal?.aborted)) {
        const [gone, live] = partition(group, (p) => p.signal?.aborted === true);
        for (const p of gone) {
          this.release(p.bytes);
          p.reject(p.signal!.reason);
        }
        group = live;
        if (group.length === 0) continue;
      }
      const chunks = group.map((p) => p.chunk);
      const signals = group.map((p) => p.signal);
      const bytes = group.reduce((n, p) => n + p.bytes, 0);
      const started = process.hrtime.bigint();
      try {
        await this.writeChunks(chunks, signals);
        this.counters.bytesWritten += bytes;
        this.counters.groupsWritten++;
        this.events.groupWritten?.(bytes, Number(process.hrtime.bigint() - started) / 1e9);
        for (const p of group) p.resolve();
      } catch (err) {
        this.counters.failedChunks += group.length;
        this.events.failed?.(group.length);
        for (const p of group) p.reject(err);
      } finally {
        this.release(bytes);
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

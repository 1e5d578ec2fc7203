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
  /** The next chunk of its queue or group (a list through the chunks: no array per group). */
  next: Pending<C> | undefined;
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
 * call's path); per group one setImmediate, the chunk and signal arrays and
 * the destination's own promise: the group loop runs on callbacks made once,
 * and queue and group are lists through the Pendings.
 */
export class BatchingWriter<C = Buffer> {
  /** Chunks queued for the next group, first to last. */
  private head: Pending<C> | undefined;
  private tail: Pending<C> | undefined;
  /** A group is due (setImmediate) or being written. */
  private busy = false;
  /** The group being written (a list), its length, its bytes, and when it started (only read for metrics). */
  private group: Pending<C> | undefined;
  private groupLength = 0;
  private groupBytes = 0;
  private groupStarted = 0n;
  /** flush() callers waiting for the writer to go idle. */
  private flushed: (() => void)[] = [];
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
        const p: Pending<C> = { chunk, bytes, signal, resolve, reject, timer: undefined, next: undefined };
        if (this.waiters.length === 0 && this.fits(bytes)) {
          this.take(bytes);
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
  flush(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.flushed.push(resolve));
  }

  private mapped(err: unknown, signal: AbortSignal | undefined): unknown {
    return this.mapError ? this.mapError(err, signal) : err;
  }

  private fail(p: Pending<C>, err: unknown): void {
    p.reject(this.mapped(err, p.signal));
  }

  private enqueue(p: Pending<C>): void {
    p.next = undefined;
    if (this.tail) this.tail.next = p;
    else this.head = p;
    this.tail = p;
    if (this.busy) return; // the group being written takes the queue next
    this.busy = true;
    // After the poll phase: the calls read together have all queued by then.
    setImmediate(this.nextGroup);
  }

  /** Waits for room; refused after maxWaitMs (dropped sooner when its caller gives up). */
  private wait(p: Pending<C>): void {
    p.timer = setTimeout(() => {
      this.waiters = this.waiters.filter((w) => w !== p);
      this.listenIfWaiting();
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
          `sink buffer full (${this.buffered} of ${this.limits.maxBytes} bytes queued${this.sharedNote()}) for ${this.limits.maxWaitMs} ms`,
        ),
      );
      this.wakeWaiters(); // a large refused chunk may have held up smaller ones behind it
    }, this.limits.maxWaitMs);
    this.waiters.push(p);
    this.listenIfWaiting();
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
      this.take(w.bytes);
      this.enqueue(w);
    }
    this.listenIfWaiting();
  }

  /** Writes the queue as one group; called again as each group settles, until the queue is empty. */
  private readonly nextGroup = (): void => {
    for (;;) {
      let p = this.head;
      if (p === undefined) return this.idle();
      this.head = this.tail = undefined;
      // Chunks whose callers gave up are dropped; the rest stay linked in order.
      let first: Pending<C> | undefined;
      let last: Pending<C> | undefined;
      let length = 0;
      let bytes = 0;
      for (; p !== undefined; p = p.next) {
        if (p.signal?.aborted === true) {
          this.release(p.bytes);
          this.fail(p, p.signal.reason);
          continue;
        }
        if (last) last.next = p;
        else first = p;
        last = p;
        length++;
        bytes += p.bytes;
      }
      if (last === undefined) continue;
      last.next = undefined;
      const chunks = new Array<C>(length);
      const signals = new Array<AbortSignal | undefined>(length);
      let i = 0;
      for (let q = first; q !== undefined; q = q.next, i++) {
        chunks[i] = q.chunk;
        signals[i] = q.signal;
      }
      this.group = first;
      this.groupLength = length;
      this.groupBytes = bytes;
      // The clock is read only for whoever times the writes (metrics).
      this.groupStarted = this.events.groupWritten ? process.hrtime.bigint() : 0n;
      let written: Promise<void>;
      try {
        written = this.writeChunks(chunks, signals);
      } catch (err) {
        this.groupFailed(err); // goes on with the next group
        return;
      }
      written.then(this.groupWritten, this.groupFailed);
      return;
    }
  };

  private readonly groupWritten = (): void => {
    try {
      this.counters.bytesWritten += this.groupBytes;
      this.counters.groupsWritten++;
      this.events.groupWritten?.(this.groupBytes, Number(process.hrtime.bigint() - this.groupStarted) / 1e9);
    } catch (err) {
      this.groupFailed(err);
      return;
    }
    for (let p = this.takeGroup(); p !== undefined; p = p.next) p.resolve();
    this.groupDone();
  };

  private readonly groupFailed = (err: unknown): void => {
    this.counters.failedChunks += this.groupLength;
    this.events.failed?.(this.groupLength);
    for (let p = this.takeGroup(); p !== undefined; p = p.next) this.fail(p, err);
    this.groupDone();
  };

  private takeGroup(): Pending<C> | undefined {
    const group = this.group;
    this.group = undefined;
    return group;
  }

  private groupDone(): void {
    this.release(this.groupBytes);
    this.wakeWaiters();
    this.nextGroup();
  }

  private idle(): void {
    this.busy = false;
    const flushed = this.flushed;
    if (flushed.length === 0) return;
    this.flushed = [];
    for (const resolve of flushed) resolve();
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

// Deadlines shared by the calls that start close together. Every call waits
// for its sink under the same --sink-write-timeout, so the calls that start
// within one window can share one AbortController and one timer, fired when
// the last of them has waited the full timeout. A timer and an
// AbortController per call cost more than the rest of a small call's own
// work; a window costs them once. A deadline is late by at most one window,
// never early. A window whose calls are all done is cancelled.
//
// A window lasts 1/40 of the timeout, at most 100 ms (100 ms late on the 4 s
// default): at a few thousand calls/s, 10 ms windows cost 4% of a small
// call's CPU in their controllers and timers. Its reason (an Error, with a
// stack) is made only if it fires. Calls race their work against the window
// with race(), which keeps one rejecter per call until the window's calls
// have all left, not Promise.race on a shared never-settling promise (~1 µs
// per call, and every call's reaction kept until the window is gone).

/** One window's shared deadline. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Settles as `work` does, or rejects with `reason` when the deadline passes first. */
  race<T>(work: Promise<T>): Promise<T>;
  /** What `signal` aborts with and race() rejects with. */
  readonly reason: Error;
  /** The call is done with this deadline (every enter() is matched by one leave()). */
  leave(): void;
}

class Window implements Deadline {
  readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  /** Rejects the calls racing this window (those already settled ignore it). */
  private rejecters: Array<(err: Error) => void> = [];
  private made: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Calls of this window still waiting. */
  live = 0;
  /** No later call joins once the window closes. */
  open = true;

  constructor(
    readonly closesAt: number,
    firesInMs: number,
    private readonly makeReason: () => Error,
  ) {
    this.timer = setTimeout(() => this.fire(), firesInMs);
  }

  get reason(): Error {
    return (this.made ??= this.makeReason());
  }

  private fire(): void {
    this.timer = undefined;
    this.open = false;
    this.controller.abort(this.reason);
    const rejecters = this.rejecters;
    this.rejecters = [];
    for (const reject of rejecters) reject(this.reason);
  }

  race<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(this.reason);
    return new Promise<T>((resolve, reject) => {
      this.rejecters.push(reject);
      work.then(resolve, reject);
    });
  }

  leave(): void {
    if (--this.live > 0) return;
    // Every call of the window has settled: forget their rejecters. Emptied
    // in place: calls that come one at a time would otherwise each grow a new
    // array (~150 bytes).
    const rejecters = this.rejecters;
    while (rejecters.length > 0) rejecters.pop();
    if (!this.open && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  close(): void {
    this.open = false;
    if (this.live === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

export class DeadlineBuckets {
  private current: Window | undefined;
  private readonly windowMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly makeReason: () => Error,
    windowMs = Math.min(100, Math.max(1, Math.floor(timeoutMs / 40))),
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.windowMs = windowMs;
  }

  /** The deadline of a call starting now: at least timeoutMs away, at most timeoutMs + one window. */
  enter(): Deadline {
    const now = this.now();
    let w = this.current;
    if (w === undefined || !w.open || now >= w.closesAt) {
      w?.close();
      w = new Window(now + this.windowMs, this.timeoutMs + this.windowMs, this.makeReason);
      this.current = w;
    }
    w.live++;
    return w;
  }
}

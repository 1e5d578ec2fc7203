// The access-log messages of all streams together: at most `maxInProgress`
// estimated bytes being written at once, and at most `maxWaiting` bytes
// held by messages waiting for their turn (first come, first served). A
// stream is not read while its message waits or is in progress, so each
// stream holds at most one message; the waiting bound is what keeps many
// streams from holding many messages.
import { CallTooLargeError } from '../../core/call-cost.js';

/** The waiting room is full: the stream ends with RESOURCE_EXHAUSTED. */
export class OverloadedError extends CallTooLargeError {
  override name = 'OverloadedError';
}

interface Waiter {
  cost: number;
  waiting: number;
  admit: (release: () => void) => void;
}

export class MessageBudget {
  private inProgress = 0;
  private waitingBytes = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly maxInProgress: number,
    readonly maxWaiting: number,
  ) {}

  /**
   * The budget of one adapter, from --max-decode-bytes (one call's share of
   * the heap): a quarter of it for the messages in progress, which is also
   * the most one message may take (17 times Envoy's default 16 KiB batch),
   * and an eighth for those waiting. Measured at 256 Mi (docs/operations.md),
   * floods peaked at 198-245 MiB with these (with the whole test suite
   * beside them at the top); with half and a quarter, at up to 246 MiB alone.
   */
  static of(maxDecodeBytes: number): MessageBudget {
    return new MessageBudget(Math.floor(maxDecodeBytes / 4), Math.floor(maxDecodeBytes / 8));
  }

  /** The most one message may be estimated to take. */
  get maxMessage(): number {
    return this.maxInProgress;
  }

  /**
   * Resolves with the release once a message of estimated `cost` may go
   * ahead; meanwhile it counts `waiting` bytes (what the message holds) and
   * throws OverloadedError when those would pass maxWaiting. A message
   * larger than the waiting bound still waits when nothing else does.
   */
  admit(cost: number, waiting: number): Promise<() => void> {
    if (this.queue.length === 0 && this.fits(cost)) return Promise.resolve(this.start(cost));
    this.refuseIfFull(cost, waiting);
    this.waitingBytes += waiting;
    return new Promise((admit) => this.queue.push({ cost, waiting, admit }));
  }

  /**
   * Throws OverloadedError when a message of (at least) this cost would
   * have to wait and the waiting room cannot take it: called before a
   * message is decoded, so that an overload costs no decoding.
   */
  refuseIfFull(cost: number, waiting: number): void {
    if (this.queue.length === 0 && this.fits(cost)) return;
    if (this.waitingBytes > 0 && this.waitingBytes + waiting > this.maxWaiting) {
      throw new OverloadedError(
        `access-log message not taken: messages waiting for their turn hold ${this.waitingBytes} bytes, ` +
          `the bound is ${this.maxWaiting} (an eighth of --max-decode-bytes); the sinks are slower than the logs arrive`,
      );
    }
  }

  private fits(cost: number): boolean {
    return this.inProgress === 0 || this.inProgress + cost <= this.maxInProgress;
  }

  private start(cost: number): () => void {
    this.inProgress += cost;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inProgress -= cost;
      this.next();
    };
  }

  private next(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.cost)) {
      const w = this.queue.shift()!;
      this.waitingBytes -= w.waiting;
      w.admit(this.start(w.cost));
    }
  }
}

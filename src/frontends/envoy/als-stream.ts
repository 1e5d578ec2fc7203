// One StreamAccessLogs call. Its messages are taken one at a time, each
// written before the next is read, so a slow sink slows the client through
// HTTP/2 flow control and the stream holds one message at most. Envoy never
// reads an answer; the stream is answered once: OK with an empty
// StreamAccessLogsResponse when the client ends it (after its last message
// is written) or when the adapter drains at shutdown; RESOURCE_EXHAUSTED or
// INVALID_ARGUMENT at the first message it cannot take.
import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { toCallError } from '../../core/status.js';
import { oneMessageAtATime } from '../../transport/grpc-internals.js';
import type { StreamSource, StreamStop } from './als-report.js';

/** StreamAccessLogsResponse has no fields: its encoding is empty. */
const EMPTY_RESPONSE = Buffer.alloc(0);

/**
 * Draining, a stream that has received nothing for this long has been read
 * to the end of what its client had sent when the drain began.
 */
export const DRAIN_QUIET_MS = 200;

/** Takes one message; resolves with why the stream must end, if it must. Never rejects. */
export type TakeMessage = (bytes: Buffer, stream: LogStream) => Promise<StreamStop | undefined>;

type State = 'reading' | 'busy' | 'done';

export class LogStream {
  /** Who sent it (the first message's identifier), for log lines. */
  source: StreamSource | undefined;
  private state: State = 'reading';
  /** performance.now() after which no further message is read (draining). */
  private drainBy: number | undefined;
  private quiet: NodeJS.Timeout | undefined;
  private readonly next: () => void;

  constructor(
    call: ServerReadableStream<Buffer, Buffer>,
    private readonly answer: sendUnaryData<Buffer>,
    private readonly take: TakeMessage,
    private readonly finished: (stream: LogStream, stop: StreamStop) => void,
  ) {
    this.next = oneMessageAtATime(call);
    call.on('data', (bytes: Buffer) => this.message(bytes));
    // Asked for only after the last message was written (see oneMessageAtATime).
    call.on('end', () => this.finish({ end: 'client_ended' }));
    // grpc-js also says 'cancelled' once an answer is sent: by then the stream is done.
    call.on('cancelled', () => this.finish({ end: 'cancelled' }));
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** Reads on until nothing has come for DRAIN_QUIET_MS, or until `by` passes, then answers OK. */
  drain(by: number): void {
    if (this.done) return;
    this.drainBy ??= by;
    if (this.state === 'reading') this.waitQuiet();
  }

  // Not async: the message's bytes must not stay referenced while it waits and is written.
  private message(bytes: Buffer): void {
    if (this.state !== 'reading') return;
    this.state = 'busy';
    clearTimeout(this.quiet);
    let taken: Promise<StreamStop | undefined>;
    try {
      taken = this.take(bytes, this);
    } catch (error) {
      taken = Promise.resolve({ end: 'internal', error });
    }
    taken.then(
      (stop) => this.taken(stop),
      (error: unknown) => this.taken({ end: 'internal', error }),
    );
  }

  private taken(stop: StreamStop | undefined): void {
    if (this.done) return; // cancelled meanwhile; the message was still written
    if (stop) return this.finish(stop);
    this.state = 'reading';
    if (this.drainBy !== undefined && performance.now() >= this.drainBy) return this.finish({ end: 'drained' });
    this.next();
    if (this.drainBy !== undefined) this.waitQuiet();
  }

  private waitQuiet(): void {
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => {
      if (this.state === 'reading') this.finish({ end: 'drained' });
    }, DRAIN_QUIET_MS);
  }

  private finish(stop: StreamStop): void {
    if (this.done) return;
    this.state = 'done';
    clearTimeout(this.quiet);
    if (stop.end !== 'cancelled') {
      if (stop.error === undefined) this.answer(null, EMPTY_RESPONSE);
      else this.answer(toCallError(stop.error));
    }
    this.finished(this, stop);
  }
}

// Bounds on connections and streams that grpc-js's options cannot express.
// grpc-js limits streams per connection (grpc.max_concurrent_streams) but not
// how many connections there are, how many request bytes wait in half-sent
// streams across all of them, or how long a stream may stay open: a client
// that sends headers and part of a message and never finishes, or never reads
// its answers, would otherwise hold memory for as long as it likes.
//
// Every deadline and age here is measured on the monotonic clock
// (performance.now()): a wall-clock step must neither cut streams nor spare
// them.
import http2 from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import { http2ServersOf } from './grpc-internals.js';

export interface StreamLimits {
  /** Open TCP connections per listening address; more are closed on accept. */
  maxConnections: number;
  /** Streams open at once over all connections; past it the connection holding the most loses its newest (REFUSED_STREAM). */
  maxStreams: number;
  /** Bytes of requests still arriving, over all streams; past it the connection holding the most loses its largest. */
  maxPendingRequestBytes: number;
  /** A stream whose request has not fully arrived this many ms after its headers is reset. */
  requestArrivalMs: number;
  /** A stream still open this many ms after its headers (its answer unread, say) is reset. */
  maxStreamMs: number;
  /** A connection that has not sent its HTTP/2 preface (SETTINGS) within this many ms is closed. */
  prefaceMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxConnections: 256,
  maxStreams: 2048,
  maxPendingRequestBytes: 32 * 1024 * 1024,
  requestArrivalMs: 30_000,
  maxStreamMs: 120_000,
  prefaceMs: 10_000,
};

/** Why a stream or connection was cut (logged and counted by the caller). */
export type GuardEvent =
  'connection-limit' | 'stream-limit' | 'pending-bytes' | 'request-arrival' | 'stream-age' | 'preface';

export interface StreamGuard {
  /** Streams open now, over all connections. */
  readonly openStreams: number;
  /** Request bytes received by streams whose request has not fully arrived. */
  readonly pendingRequestBytes: number;
}

interface StreamState {
  stream: http2.ServerHttp2Stream;
  /** The connection's streams, this one among them. */
  streams: SessionStreams;
  /** Request bytes received while the request is still arriving. */
  pending: number;
  /** Whether the whole request has arrived (the client ended its side). */
  arrived: boolean;
  /** performance.now() when its headers came. */
  openedAt: number;
}

/** How often open streams are checked against the arrival and age limits. */
const SWEEP_MS = 1000;

/** Streams of one connection, oldest first (Map keeps insertion order). */
type SessionStreams = Map<http2.ServerHttp2Stream, StreamState>;

/** Where a guarded stream keeps its state: the listeners are shared, not made per stream. */
const STATE = Symbol('stream-guard state');
type GuardedStream = http2.ServerHttp2Stream & { [STATE]: StreamState };

/**
 * When a bound over all connections is passed, the connection holding the
 * most (streams, or bytes still arriving) loses a stream, not whoever came
 * last: a client hoarding streams cannot push Mixer's few calls out.
 */
export function guardStreams(
  server: Server,
  limits: StreamLimits,
  onCut: (event: GuardEvent) => void = () => undefined,
): StreamGuard {
  let openStreams = 0;
  let pendingRequestBytes = 0;
  const sessions = new Map<http2.Http2Session, SessionStreams>();

  const cut = (state: StreamState, code: number, event: GuardEvent): void => {
    const { stream } = state;
    if (stream.closed || stream.destroyed) return;
    onCut(event);
    stream.close(code);
  };

  /** The session with the most of `measure`, and its stream with the most of `pick`. */
  const heaviest = (
    measure: (streams: SessionStreams) => number,
    pick: (state: StreamState) => number,
  ): StreamState | undefined => {
    let top: SessionStreams | undefined;
    let topValue = -1;
    for (const streams of sessions.values()) {
      const value = measure(streams);
      if (value > topValue) [top, topValue] = [streams, value];
    }
    let chosen: StreamState | undefined;
    for (const state of top?.values() ?? []) {
      if (!state.stream.closed && (!chosen || pick(state) >= pick(chosen))) chosen = state;
    }
    return chosen;
  };
  const pendingOf = (streams: SessionStreams): number => {
    let n = 0;
    for (const s of streams.values()) n += s.pending;
    return n;
  };

  // Every call opens a stream: these three listeners are shared by all
  // streams (the state hangs off the stream) rather than made per stream.
  function requestArrived(this: GuardedStream): void {
    const state = this[STATE];
    if (state.arrived) return;
    state.arrived = true;
    pendingRequestBytes -= state.pending;
    state.pending = 0;
  }
  function onData(this: GuardedStream, chunk: Buffer): void {
    const state = this[STATE];
    if (state.arrived) return;
    state.pending += chunk.length;
    pendingRequestBytes += chunk.length;
    while (pendingRequestBytes > limits.maxPendingRequestBytes) {
      const victim = heaviest(pendingOf, (s) => s.pending);
      if (!victim || victim.pending === 0) break;
      pendingRequestBytes -= victim.pending; // its bytes go with it
      victim.pending = 0;
      cut(victim, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 'pending-bytes');
    }
  }
  function onClose(this: GuardedStream): void {
    requestArrived.call(this);
    openStreams--;
    const { streams } = this[STATE];
    streams.delete(this);
    if (streams.size === 0) sessions.delete(this.session!);
  }

  const onStream = (stream: http2.ServerHttp2Stream): void => {
    const session = stream.session;
    if (!session) return;
    let streams = sessions.get(session);
    if (!streams) sessions.set(session, (streams = new Map<http2.ServerHttp2Stream, StreamState>()));
    // No timers per stream (they cost on every call): one sweep checks the ages.
    const state: StreamState = { stream, streams, pending: 0, arrived: false, openedAt: performance.now() };
    (stream as GuardedStream)[STATE] = state;
    streams.set(stream, state);
    openStreams++;
    // `on`, not `once`: each fires once per stream anyway, and `once` wraps.
    stream.on('data', onData);
    stream.on('end', requestArrived);
    stream.on('close', onClose);
    // This listener runs after grpc-js's own, so a stream cut here reaches
    // its handler as a cancellation, like a client reset.
    if (openStreams > limits.maxStreams) {
      const victim = heaviest(
        (s) => s.size,
        () => 0, // the newest stream of that connection (ties go to the later one)
      );
      if (victim) cut(victim, http2.constants.NGHTTP2_REFUSED_STREAM, 'stream-limit');
    }
  };

  const onSession = (session: http2.ServerHttp2Session): void => {
    let settings = false;
    session.once('remoteSettings', () => (settings = true));
    const timer = setTimeout(() => {
      if (settings || session.destroyed) return;
      onCut('preface');
      session.destroy();
    }, limits.prefaceMs);
    timer.unref();
    session.once('close', () => clearTimeout(timer));
  };

  const sweep = (): void => {
    const now = performance.now();
    for (const streams of sessions.values()) {
      for (const state of streams.values()) {
        const age = now - state.openedAt;
        if (age > limits.maxStreamMs) cut(state, http2.constants.NGHTTP2_CANCEL, 'stream-age');
        else if (!state.arrived && age > limits.requestArrivalMs) {
          cut(state, http2.constants.NGHTTP2_CANCEL, 'request-arrival');
        }
      }
    }
  };
  const sweeper = setInterval(sweep, Math.min(SWEEP_MS, limits.requestArrivalMs, limits.maxStreamMs));
  sweeper.unref();

  const listeners = http2ServersOf(server, 'bound connections and streams');
  let listening = listeners.length;
  for (const listener of listeners) {
    listener.once('close', () => {
      if (--listening === 0) clearInterval(sweeper);
    });
    listener.maxConnections = limits.maxConnections;
    listener.on('drop', () => onCut('connection-limit'));
    listener.on('stream', onStream);
    listener.on('session', onSession);
  }
  return {
    get openStreams() {
      return openStreams;
    },
    get pendingRequestBytes() {
      return pendingRequestBytes;
    },
  };
}

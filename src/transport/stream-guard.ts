// Bounds on connections and streams that grpc-js's options cannot express.
// grpc-js limits streams per connection (grpc.max_concurrent_streams) but not
// how many connections there are, how long one may hold a slot without
// carrying a call, how many request bytes wait in half-sent streams across
// all of them, or how long a stream may stay open: a client that sends
// headers and part of a message and never finishes, or never reads its
// answers, or opens connections and sends nothing, would otherwise hold
// memory and slots for as long as it likes.
//
// A client-streaming call (Envoy's access logs) never "fully arrives": its
// messages come for as long as the client likes. Its stream is bounded per
// message instead: the bytes of the message still arriving count as
// pending, each message must arrive within the arrival bound of its first
// byte (while the server is reading: time the handler spends with a message
// is not the client's), and the stream-age bound does not apply.
//
// Every deadline and age here is measured on the monotonic clock
// (performance.now()): a wall-clock step must neither cut streams nor spare
// them.
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import type { Server } from '@grpc/grpc-js';
import { http2ServersOf, type Http2Listener } from './grpc-internals.js';

export interface StreamLimits {
  /**
   * Open TCP connections per listening address. A new one past it closes the
   * connection that has been idle longest (no open stream; one that never
   * carried a stream before one that did; not one still in its first second
   * of TLS handshake and preface); when there is none, the new one is closed.
   */
  maxConnections: number;
  /** Streams open at once over all connections; past it the connection holding the most loses its newest (REFUSED_STREAM). */
  maxStreams: number;
  /** Bytes of requests still arriving, over all streams; past it the connection holding the most loses its largest. */
  maxPendingRequestBytes: number;
  /**
   * A stream whose request has not fully arrived this many ms after its
   * headers is reset; for a client-streaming call, one whose message has not
   * arrived this many ms (of reading) after its first byte.
   */
  requestArrivalMs: number;
  /** A stream still open this many ms after its headers (its answer unread, say) is reset; not client-streaming calls. */
  maxStreamMs: number;
  /** A connection that has not finished its TLS handshake and sent its HTTP/2 preface (SETTINGS) this many ms after it was accepted is closed. */
  prefaceMs: number;
  /** A connection that has carried no stream this many ms after it was accepted is closed. */
  unusedConnectionMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxConnections: 256,
  maxStreams: 2048,
  maxPendingRequestBytes: 16 * 1024 * 1024,
  requestArrivalMs: 30_000,
  maxStreamMs: 120_000,
  prefaceMs: 10_000,
  unusedConnectionMs: 60_000,
};

/** Why a stream or connection was cut (logged and counted by the caller). */
export type GuardEvent =
  | 'connection-limit'
  | 'idle-connection'
  | 'unused-connection'
  | 'dead-connection'
  | 'stream-limit'
  | 'pending-bytes'
  | 'request-arrival'
  | 'stream-age'
  | 'preface';

export interface StreamGuard {
  /** Streams open now, over all connections. */
  readonly openStreams: number;
  /** Request bytes received by streams whose request has not fully arrived. */
  readonly pendingRequestBytes: number;
  /** Connections counted against maxConnections now, over all listening addresses. */
  readonly openConnections: number;
}

interface StreamState {
  stream: http2.ServerHttp2Stream;
  /** The connection it came on. */
  conn: Conn;
  /** Request bytes received while the request is still arriving. */
  pending: number;
  /** Whether the whole request has arrived (the client ended its side). */
  arrived: boolean;
  /** performance.now() when its headers came. */
  openedAt: number;
  /** A client-streaming call's gRPC framing; undefined for other calls. */
  framing: Framing | undefined;
}

/** Where a client-streaming call is in its gRPC messages (5-byte prefix, then the body). */
interface Framing {
  /** Bytes of the current message's prefix seen (0-5). */
  prefix: number;
  /** Its body length, read from the prefix. */
  length: number;
  /** Bytes of its body still to come. */
  body: number;
  /** performance.now() when its first byte came, or when the server last resumed reading it. */
  since: number;
}

/** Streams of one connection, oldest first (Map keeps insertion order). */
type ConnStreams = Map<http2.ServerHttp2Stream, StreamState>;

/** One accepted TCP connection, from accept to close. */
interface Conn {
  /** The accepted TCP socket; destroying it frees the descriptor whatever state TLS and HTTP/2 are in. */
  tcp: net.Socket | undefined;
  /** The TLS socket over it, once the handshake is done. */
  tls: tls.TLSSocket | undefined;
  session: http2.Http2Session | undefined;
  /** Its listening address, where it is counted against maxConnections; none when the guard did not see it accepted. */
  address: Address | undefined;
  /** Its key in `address.peers` (see peerOf). */
  peer: string | undefined;
  streams: ConnStreams;
  /** performance.now() when accepted. */
  acceptedAt: number;
  /** performance.now() when its last stream closed, or when accepted. */
  idleSince: number;
  /** Whether it has carried a stream. */
  carried: boolean;
  /** Whether the client's HTTP/2 preface (SETTINGS) has arrived. */
  preface: boolean;
  /** performance.now() when its session was seen ended with its socket still open. */
  endedAt: number | undefined;
  /** Released by the guard (or closed): no longer counted. */
  released: boolean;
}

/** The connections of one listening address. */
interface Address {
  /** Counted against maxConnections. */
  slots: Set<Conn>;
  /** By peer (see peerOf). */
  peers: Map<string, Conn>;
}

/** How often open streams and connections are checked against the time bounds. */
const SWEEP_MS = 1000;
/**
 * A session that has ended (destroyed, or closed with no stream left) but
 * whose socket is still open this long later has a socket nobody will close:
 * Node 20's HTTP/2 over TLS can stop reading a connection whose peer is gone
 * and then never notices, and a graceful close waits for a peer that may
 * never answer. Its socket is destroyed.
 */
const ENDED_SESSION_MS = 5000;
/**
 * A connection still in its TLS handshake or preface is not closed to make
 * room before it is this old: a new client's connection gets that long to
 * start HTTP/2 (then it sends its first call at once), while one that stalls
 * there can still be pushed out.
 */
const ADMIT_GRACE_MS = 1000;
/**
 * A connection that carried calls gives way to a new one only once it has
 * been idle this long: between Mixer's calls its connection has no stream
 * open, and a flood of new connections (each protected for ADMIT_GRACE_MS)
 * must not push it out.
 */
const CARRIER_IDLE_MS = 30_000;
/** An idle connection that carried calls gets its GOAWAY this long before its socket is destroyed. */
const EVICT_GRACE_MS = 250;

/** Where a guarded stream keeps its state: the listeners are shared, not made per stream. */
const STATE = Symbol('stream-guard state');
type GuardedStream = http2.ServerHttp2Stream & { [STATE]: StreamState };

const now = (): number => performance.now();

/**
 * Which connection a socket is (local address, peer address and port);
 * undefined once its peer is gone (the socket is no longer connected).
 */
function peerOf(socket: net.Socket): string | undefined {
  const { localAddress, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  return `${localAddress}|${remoteAddress}|${remotePort}`;
}

/**
 * When a bound over all connections is passed, the connection holding the
 * most (streams, or bytes still arriving) loses a stream, not whoever came
 * last: a client hoarding streams cannot push Mixer's few calls out. When
 * the connections are all taken, the idlest gives way to a new one, so
 * connections that carry nothing cannot lock out one that will.
 */
export function guardStreams(
  server: Server,
  limits: StreamLimits,
  onCut: (event: GuardEvent) => void = () => undefined,
  /** The `:path` of every client-streaming method: bounded per message (see above). */
  streamingPaths: ReadonlySet<string> = new Set(),
): StreamGuard {
  let openStreams = 0;
  let pendingRequestBytes = 0;
  /** Listening addresses not closed yet. */
  let listening = 0;
  /** Every connection known, over all listening addresses. */
  const conns = new Set<Conn>();
  const bySession = new Map<http2.Http2Session, Conn>();
  /**
   * The connection whose HTTP/2 session Node creates next: set in a listener
   * that runs first on 'connection' (plaintext) or 'secureConnection' (TLS),
   * read by the 'session' listener, which Node calls within the same event.
   */
  let arriving: Conn | undefined;

  const newConn = (tcp: net.Socket | undefined): Conn => {
    const at = now();
    const conn: Conn = {
      tcp,
      tls: undefined,
      session: undefined,
      address: undefined,
      peer: undefined,
      streams: new Map(),
      acceptedAt: at,
      idleSince: at,
      carried: false,
      preface: false,
      endedAt: undefined,
      released: false,
    };
    conns.add(conn);
    return conn;
  };

  /** Stops counting a connection (closed, or being closed by the guard). */
  const forget = (conn: Conn): void => {
    conn.released = true;
    conns.delete(conn);
    const { address, peer, session } = conn;
    address?.slots.delete(conn);
    if (peer !== undefined && address?.peers.get(peer) === conn) address.peers.delete(peer);
    if (session) bySession.delete(session);
  };

  const destroy = (conn: Conn): void => {
    // session.destroy() alone may never get to the socket (it waits for
    // writes a dead socket never finishes): the sockets go too.
    if (conn.session && !conn.session.destroyed) conn.session.destroy();
    conn.tls?.destroy();
    conn.tcp?.destroy();
  };

  /** Closes a connection the guard gives up on; one that carried calls gets a GOAWAY first. */
  const release = (conn: Conn, event: GuardEvent): void => {
    if (conn.released) return;
    forget(conn);
    onCut(event);
    const session = conn.session;
    if (conn.carried && session && !session.destroyed && !session.closed) {
      try {
        // Streams the client opens after the last one processed are not
        // processed: its gRPC library retries them on a new connection.
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, session.state.lastProcStreamID ?? 0);
      } catch {
        // the session could not send it: nothing to wait for
      }
      setTimeout(destroy, EVICT_GRACE_MS, conn).unref();
    } else {
      destroy(conn);
    }
  };

  /** Closes the connection being accepted, before anything is sent on it. */
  const refuse = (conn: Conn, event: GuardEvent): void => {
    forget(conn);
    onCut(event);
    destroy(conn);
  };

  /**
   * The connection that has been idle longest (no open stream): one that never
   * carried a stream first (the oldest), else the one idle longest, if that is
   * CARRIER_IDLE_MS at least; undefined when every one has a stream open, is
   * still starting, or carried calls recently.
   */
  const idlest = (slots: Set<Conn>, except: Conn): Conn | undefined => {
    const at = now();
    const starting = at - ADMIT_GRACE_MS;
    const recent = at - CARRIER_IDLE_MS;
    let chosen: Conn | undefined;
    for (const conn of slots) {
      if (conn === except || conn.streams.size > 0 || (!conn.preface && conn.acceptedAt > starting)) continue;
      if (conn.carried && conn.idleSince > recent) continue;
      if (
        !chosen ||
        (chosen.carried && !conn.carried) ||
        (chosen.carried === conn.carried && conn.idleSince < chosen.idleSince)
      ) {
        chosen = conn;
      }
    }
    return chosen;
  };

  const cut = (state: StreamState, code: number, event: GuardEvent): void => {
    const { stream } = state;
    if (stream.closed || stream.destroyed) return;
    onCut(event);
    stream.close(code);
  };

  /** The connection with the most of `measure`, and its stream with the most of `pick`. */
  const heaviest = (
    measure: (streams: ConnStreams) => number,
    pick: (state: StreamState) => number,
  ): StreamState | undefined => {
    let top: ConnStreams | undefined;
    let topValue = -1;
    for (const { streams } of conns) {
      if (streams.size === 0) continue;
      const value = measure(streams);
      if (value > topValue) [top, topValue] = [streams, value];
    }
    let chosen: StreamState | undefined;
    for (const state of top?.values() ?? []) {
      if (!state.stream.closed && (!chosen || pick(state) >= pick(chosen))) chosen = state;
    }
    return chosen;
  };
  const pendingOf = (streams: ConnStreams): number => {
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
  /** Takes the messages `chunk` completes off a client-streaming call's pending bytes. */
  const messagesArrived = (state: StreamState, f: Framing, chunk: Buffer): void => {
    if (state.pending === chunk.length) f.since = now(); // a message's first byte
    for (let i = 0; i < chunk.length;) {
      if (f.prefix < 5) {
        // Bytes 1-4 of the prefix are the body length, big-endian.
        if (f.prefix > 0) f.length = f.length * 256 + chunk[i]!;
        f.prefix++;
        i++;
        if (f.prefix === 5) f.body = f.length;
      } else {
        const take = Math.min(f.body, chunk.length - i);
        f.body -= take;
        i += take;
      }
      if (f.prefix === 5 && f.body === 0) {
        // All of it was counted, unless a cut has zeroed the count since.
        const done = Math.min(5 + f.length, state.pending);
        state.pending -= done;
        pendingRequestBytes -= done;
        f.prefix = 0;
        f.length = 0;
        f.since = now();
      }
    }
  };
  function onData(this: GuardedStream, chunk: Buffer): void {
    const state = this[STATE];
    if (state.arrived) return;
    state.pending += chunk.length;
    pendingRequestBytes += chunk.length;
    if (state.framing) messagesArrived(state, state.framing, chunk);
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
    const { conn } = this[STATE];
    conn.streams.delete(this);
    if (conn.streams.size === 0) conn.idleSince = now();
  }

  /** The connection of a session; one the guard did not see accepted is tracked from here, uncounted. */
  const connOf = (session: http2.Http2Session): Conn => {
    let conn = bySession.get(session);
    if (!conn) {
      conn = newConn(undefined);
      conn.session = session;
      conn.preface = true; // it carries streams
      bySession.set(session, conn);
    }
    return conn;
  };

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void => {
    const session = stream.session;
    if (!session) return;
    const conn = connOf(session);
    conn.carried = true;
    const at = now();
    const path = headers[':path'];
    const framing =
      path !== undefined && streamingPaths.has(path) ? { prefix: 0, length: 0, body: 0, since: at } : undefined;
    // No timers per stream (they cost on every call): one sweep checks the ages.
    const state: StreamState = { stream, conn, pending: 0, arrived: false, openedAt: at, framing };
    (stream as GuardedStream)[STATE] = state;
    conn.streams.set(stream, state);
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
    const conn = arriving ?? newConn(undefined);
    arriving = undefined;
    conn.session = session;
    if (!conn.released) bySession.set(session, conn);
    session.once('remoteSettings', () => (conn.preface = true));
    session.once('close', () => forget(conn));
  };

  const sweep = (): void => {
    const at = now();
    for (const conn of conns) {
      const { session, streams } = conn;
      if (!conn.preface && at - conn.acceptedAt > limits.prefaceMs) {
        release(conn, 'preface');
        continue;
      }
      if (!conn.carried && streams.size === 0 && at - conn.acceptedAt > limits.unusedConnectionMs) {
        release(conn, 'unused-connection');
        continue;
      }
      if (session && (session.destroyed || (session.closed && streams.size === 0))) {
        conn.endedAt ??= at;
        if (at - conn.endedAt > ENDED_SESSION_MS) {
          release(conn, 'dead-connection');
          continue;
        }
      }
      for (const state of streams.values()) {
        const { framing } = state;
        if (framing) {
          // Only while the server reads: a paused stream waits on the server, not the client.
          if (state.pending === 0 || state.stream.isPaused()) framing.since = at;
          else if (at - framing.since > limits.requestArrivalMs) {
            cut(state, http2.constants.NGHTTP2_CANCEL, 'request-arrival');
          }
          continue;
        }
        const age = at - state.openedAt;
        if (age > limits.maxStreamMs) cut(state, http2.constants.NGHTTP2_CANCEL, 'stream-age');
        else if (!state.arrived && age > limits.requestArrivalMs) {
          cut(state, http2.constants.NGHTTP2_CANCEL, 'request-arrival');
        }
      }
    }
    if (listening === 0 && conns.size === 0) clearInterval(sweeper);
  };
  const sweeper = setInterval(
    sweep,
    Math.max(
      1,
      Math.min(SWEEP_MS, limits.requestArrivalMs, limits.maxStreamMs, limits.prefaceMs, limits.unusedConnectionMs),
    ),
  );
  sweeper.unref();

  const addresses: Address[] = [];

  const guardListener = (listener: Http2Listener): void => {
    const address: Address = { slots: new Set(), peers: new Map() };
    addresses.push(address);
    const { slots, peers } = address;
    const secure = listener instanceof tls.Server;

    // First on 'connection', before grpc-js's and Node's own listeners.
    listener.prependListener('connection', (tcp: net.Socket) => {
      const conn = newConn(tcp);
      conn.address = address;
      if (!secure) arriving = conn; // Node makes its session next, in this same event
      tcp.once('close', () => forget(conn));
      const peer = peerOf(tcp);
      // Reset before it was accepted: nothing to serve.
      if (peer === undefined) return refuse(conn, 'dead-connection');
      const stale = peers.get(peer);
      // The kernel gives a peer's address and port to a new connection only
      // once the old one is closed: one still listed here lost its peer
      // without Node noticing.
      if (stale) release(stale, 'dead-connection');
      conn.peer = peer;
      peers.set(peer, conn);
      slots.add(conn);
      if (slots.size > limits.maxConnections) {
        const idle = idlest(slots, conn);
        if (idle) release(idle, 'idle-connection');
        else refuse(conn, 'connection-limit');
      }
    });
    if (secure) {
      listener.prependListener('secureConnection', (socket: tls.TLSSocket) => {
        const peer = peerOf(socket);
        const conn = peer === undefined ? undefined : peers.get(peer);
        if (!conn) {
          // Its peer left during the handshake (or it was not counted): Node
          // would keep an HTTP/2 session on it that nothing ever closes.
          arriving = newConn(undefined);
          arriving.tls = socket;
          return refuse(arriving, 'dead-connection');
        }
        conn.tls = socket;
        socket.once('close', () => forget(conn));
        arriving = conn;
      });
    }
    // Node's own bound stays as a backstop, well above the guard's.
    listener.maxConnections = 2 * limits.maxConnections;
    listener.on('drop', () => onCut('connection-limit'));
    listener.on('stream', onStream);
    listener.on('session', onSession);
  };

  const listeners = http2ServersOf(server, 'bound connections and streams');
  // The sweep goes on after the listeners close, until the connections they
  // accepted are gone: a dead one would otherwise keep the process alive.
  listening = listeners.length;
  for (const listener of listeners) {
    listener.once('close', () => {
      if (--listening === 0 && conns.size === 0) clearInterval(sweeper);
    });
    guardListener(listener);
  }
  return {
    get openStreams() {
      return openStreams;
    },
    get pendingRequestBytes() {
      return pendingRequestBytes;
    },
    get openConnections() {
      let n = 0;
      for (const { slots } of addresses) n += slots.size;
      return n;
    },
  };
}

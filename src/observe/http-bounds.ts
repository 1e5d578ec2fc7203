// The bounds every HTTP listener of the adapter shares: --ops-port,
// --metrics-port and --prometheus-port are plain node:http servers that any
// client able to reach them can open connections to, so each one limits how
// many it holds, how long a connection may stay idle, how long a request may
// take to arrive and a response to leave, and how many requests one
// connection may send. Scrapes (/metrics) share one rendered page between
// concurrent scrapers, and past a few at once are answered 503.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import type { RepeatLog } from './repeat-log.js';

export interface HttpBounds {
  /**
   * Open connections per listener (server.maxConnections). At the limit a new
   * connection pushes out the one idle the longest (no request in progress),
   * so a probe on a fresh connection gets in; when none is idle, it is closed on accept.
   */
  maxConnections: number;
  /** The request headers must have arrived this many ms after the request began (else 408). */
  headersTimeoutMs: number;
  /** The whole request must have arrived this many ms after it began (else 408). */
  requestTimeoutMs: number;
  /** A kept-alive connection waits this long for its next request. */
  keepAliveTimeoutMs: number;
  /** A connection with no bytes moving either way for this long is closed: idle, or a response its client stopped reading. */
  idleTimeoutMs: number;
  /** Requests one connection may send; later ones are answered 503 and the connection closed. */
  maxRequestsPerSocket: number;
  /** A response still unfinished this long after its request arrived closes its connection (a client reading slowly). */
  responseTimeoutMs: number;
  /** Scrapes (/metrics) in progress at once per listener; more are answered 503. */
  maxConcurrentScrapes: number;
}

/** Most connections one HTTP listener holds when the descriptor limit is generous. */
export const HTTP_MAX_CONNECTIONS = 64;
/** One HTTP listener holds at most this fraction of RLIMIT_NOFILE: three take 3/16, under a fifth. */
const DESCRIPTOR_SHARE = 16;
/** What a process gets from most shells and systemd units, assumed when the limit cannot be read. */
const FALLBACK_NOFILE = 1024;

/**
 * The soft RLIMIT_NOFILE of this process, from /proc/self/limits. Node has no
 * getrlimit (process.getrlimit does not exist in Node 20 or 24), and at start
 * Node raises the soft limit to the hard one, so this is the limit in force.
 * Where /proc cannot be read (not Linux), 1024.
 */
export function descriptorLimit(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return FALLBACK_NOFILE;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m) return FALLBACK_NOFILE;
  return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

/**
 * Connections one HTTP listener may hold under a descriptor limit of
 * `nofile`: 64, or a sixteenth of the limit when that is less (at least 4).
 * The three HTTP listeners together then keep at most 3/16 of the
 * descriptors, leaving the rest to the gRPC port (256 connections), the sinks'
 * files, the listeners themselves and Node.
 */
export function httpConnectionLimit(nofile: number = descriptorLimit()): number {
  return Math.max(4, Math.min(HTTP_MAX_CONNECTIONS, Math.floor(nofile / DESCRIPTOR_SHARE)));
}

export const DEFAULT_HTTP_BOUNDS: Readonly<HttpBounds> = {
  maxConnections: httpConnectionLimit(),
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxRequestsPerSocket: 100,
  responseTimeoutMs: 30_000,
  maxConcurrentScrapes: 4,
};

/** Why a connection or request was cut short (for a rate-limited log line). */
export type HttpCut = 'connection-limit' | 'oldest-idle' | 'idle' | 'response-time' | 'scrape-limit';

export type HttpCutReport = (cut: HttpCut) => void;

const ignore: HttpCutReport = () => undefined;

/**
 * Reports `listener`'s cuts through a repeat log: an attack cuts thousands
 * of connections, which become one line per cause and interval.
 */
export function cutsLoggedTo(notes: RepeatLog, listener: string): HttpCutReport {
  return (cut) => notes.note('warn', `HTTP connection or request cut by a bound: ${cut}`, { bound: cut, listener });
}

/**
 * An http.Server for `handler` with `bounds` in force: the one place every
 * HTTP listener of the adapter is made.
 */
export function createBoundedServer(
  handler: http.RequestListener,
  bounds: Readonly<HttpBounds> = DEFAULT_HTTP_BOUNDS,
  onCut: HttpCutReport = ignore,
): http.Server {
  const server = http.createServer(
    {
      headersTimeout: bounds.headersTimeoutMs,
      requestTimeout: bounds.requestTimeoutMs,
      keepAliveTimeout: bounds.keepAliveTimeoutMs,
      // How often headersTimeout and requestTimeout are checked (Node's default is 30 s).
      connectionsCheckingInterval: Math.min(1000, bounds.headersTimeoutMs),
    },
    handler,
  );
  server.keepAliveTimeout = bounds.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = bounds.maxRequestsPerSocket;
  server.maxConnections = bounds.maxConnections;
  server.timeout = bounds.idleTimeoutMs;
  // With a listener here Node leaves the socket to us: close it.
  server.on('timeout', (socket: net.Socket) => {
    onCut('idle');
    socket.destroy();
  });
  server.on('drop', () => onCut('connection-limit'));

  // Connections with no response in progress, the longest idle first; and responses in progress per connection.
  const idle = new Set<net.Socket>();
  const busy = new Map<net.Socket, number>();
  server.on('connection', (socket: net.Socket) => {
    idle.add(socket);
    socket.once('close', () => {
      idle.delete(socket);
      busy.delete(socket);
    });
    if (idle.size + busy.size < bounds.maxConnections) return;
    // Full: make room for the next one by closing the one idle the longest.
    const oldest = idle.values().next().value;
    if (oldest && oldest !== socket) {
      idle.delete(oldest);
      onCut('oldest-idle');
      oldest.destroy();
    }
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    idle.delete(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    const timer = setTimeout(() => {
      onCut('response-time');
      socket.destroy();
    }, bounds.responseTimeoutMs);
    timer.unref();
    res.once('close', () => {
      clearTimeout(timer);
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      if (!socket.destroyed) idle.add(socket);
    });
  });
  return server;
}

/** Listens on host:port; rejects on a listen error. */
export function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Slices of a page handed to the socket at a time. */
const WRITE_CHUNK = 64 * 1024;

/**
 * Writes `body` in slices (views, not copies) as the client takes them, so
 * each slice taken counts as progress for the idle timeout: a client that
 * stops reading is cut after it, one that reads slowly after the response timeout.
 */
function send(res: http.ServerResponse, body: Buffer): void {
  let offset = 0;
  const pump = (): void => {
    while (!res.destroyed && offset < body.length) {
      const end = Math.min(offset + WRITE_CHUNK, body.length);
      const more = res.write(body.subarray(offset, end));
      offset = end;
      if (!more && offset < body.length) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** What a scrape renders: a prom-client Registry. */
export interface ScrapeSource {
  readonly contentType: string;
  metrics(): Promise<string>;
  /** When present, a page rendered at one version is served again until it changes. */
  readonly version?: number;
}

/**
 * Answers scrapes of `source`. One page is rendered at a time and its Buffer
 * shared by every scrape that asked while it rendered (and, for a versioned
 * source, by every later one until the source changes): a scraper that does
 * not read holds a reference, never a copy. Past `maxConcurrent` scrapes in
 * progress a scrape is answered 503.
 */
export function scrapeResponder(
  source: ScrapeSource,
  maxConcurrent: number,
  onCut: HttpCutReport = ignore,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  let inProgress = 0;
  let rendering: Promise<Buffer> | undefined;
  let last: { version: number; body: Buffer } | undefined;
  const render = (): Promise<Buffer> => {
    const version = source.version;
    if (version !== undefined && last?.version === version) return Promise.resolve(last.body);
    last = undefined;
    rendering ??= source.metrics().then(
      (text) => {
        rendering = undefined;
        const body = Buffer.from(text, 'utf8');
        if (version !== undefined) last = { version, body };
        return body;
      },
      (err: unknown) => {
        rendering = undefined;
        throw err;
      },
    );
    return rendering;
  };
  return (_req, res) => {
    if (inProgress >= maxConcurrent) {
      onCut('scrape-limit');
      res
        .writeHead(503, {
          'content-type': 'text/plain; charset=utf-8',
          'retry-after': '1',
          'cache-control': 'no-store',
        })
        .end(`more than ${maxConcurrent} scrapes at once; try again\n`);
      return;
    }
    inProgress++;
    res.once('close', () => inProgress--);
    render().then(
      (body) => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': source.contentType, 'content-length': body.length });
        send(res, body);
      },
      (err: unknown) => {
        if (res.destroyed) return;
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${String(err)}\n`);
      },
    );
  };
}

// createBoundedServer and scrapeResponder (src/observe/http-bounds.ts), the
// one hardening every HTTP listener of the adapter goes through, in-process
// with small bounds: connections past the limit push out the oldest idle one
// (or are closed on accept when none is idle), a client that never reads its
// response is cut after the idle timeout, a slow reader after the response
// timeout, slow headers get 408, a connection's requests are capped, and
// scrapes share one rendered Buffer and are answered 503 past the limit.
import type http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createBoundedServer,
  DEFAULT_HTTP_BOUNDS,
  descriptorLimit,
  httpConnectionLimit,
  listen,
  scrapeResponder,
  type HttpBounds,
  type HttpCut,
  type ScrapeSource,
} from '../src/observe/http-bounds.js';
import { waitFor } from './helpers/wait.js';

const SMALL: HttpBounds = {
  maxConnections: 4,
  headersTimeoutMs: 500,
  requestTimeoutMs: 1000,
  keepAliveTimeoutMs: 300,
  idleTimeoutMs: 600,
  maxRequestsPerSocket: 3,
  responseTimeoutMs: 2000,
  maxConcurrentScrapes: 2,
};

let server: http.Server | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
  }
  server = undefined;
});

async function start(
  handler: http.RequestListener,
  bounds: Partial<HttpBounds> = {},
): Promise<{ port: number; cuts: HttpCut[] }> {
  const cuts: HttpCut[] = [];
  server = createBoundedServer(handler, { ...SMALL, ...bounds }, (c) => cuts.push(c));
  await listen(server, '127.0.0.1', 0);
  return { port: (server.address() as net.AddressInfo).port, cuts };
}

interface Client {
  socket: net.Socket;
  received(): string;
  bytes(): number;
  closed(): boolean;
}

function client(port: number, read = true): Promise<Client> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let text = '';
  let bytes = 0;
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  if (read) {
    socket.on('data', (c: Buffer) => {
      bytes += c.length;
      if (text.length < 4096) text += c.toString('latin1');
    });
  }
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, received: () => text, bytes: () => bytes, closed: () => closed }));
    socket.once('error', reject);
  });
}

const GET = (p = '/') => `GET ${p} HTTP/1.1\r\nHost: t\r\n\r\n`;

function ok(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
}

describe('the descriptor limit', () => {
  it('is read from /proc/self/limits (soft), unlimited as Infinity, 1024 when unreadable', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            4096                 8192                 files\n';
    expect(descriptorLimit(limits)).toBe(4096);
    expect(descriptorLimit('Max open files            unlimited            unlimited            files\n')).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(descriptorLimit('nothing here')).toBe(1024);
    expect(descriptorLimit()).toBeGreaterThan(0);
  });

  it('gives each HTTP listener a sixteenth of it, at most 64 and at least 4', () => {
    expect(httpConnectionLimit(1024)).toBe(64);
    expect(httpConnectionLimit(1_048_576)).toBe(64);
    expect(httpConnectionLimit(Number.POSITIVE_INFINITY)).toBe(64);
    expect(httpConnectionLimit(256)).toBe(16);
    expect(httpConnectionLimit(32)).toBe(4);
    expect(DEFAULT_HTTP_BOUNDS.maxConnections).toBe(httpConnectionLimit(descriptorLimit()));
  });
});

describe('createBoundedServer', () => {
  it('at the connection limit pushes out the oldest idle connection, so a fresh request gets in', async () => {
    const { port, cuts } = await start(ok);
    const idle: Client[] = [];
    for (let i = 0; i < 6; i++) idle.push(await client(port));
    await waitFor(() => idle.filter((c) => c.closed()).length >= 3);
    // The oldest went first; the newest are still open.
    expect(idle[0]!.closed()).toBe(true);
    expect(idle[5]!.closed()).toBe(false);
    const fresh = await client(port);
    fresh.socket.write(GET());
    await waitFor(() => fresh.received().includes('ok\n'));
    expect(fresh.received()).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(cuts).toContain('oldest-idle');
  });

  it('closes a new connection on accept when every connection has a response in progress', async () => {
    const held: http.ServerResponse[] = [];
    const { port, cuts } = await start((_req, res) => held.push(res));
    const busy: Client[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await client(port);
      c.socket.write(GET());
      busy.push(c);
      await waitFor(() => held.length === i + 1);
    }
    const extra = await client(port);
    await waitFor(() => extra.closed());
    expect(busy.every((c) => !c.closed())).toBe(true);
    expect(cuts).toContain('connection-limit');
    for (const res of held) res.end('done\n');
  });

  it('closes a connection that sends nothing after the idle timeout', async () => {
    // The header timeouts set past the idle one, so that only the idle timeout can close it.
    const { port, cuts } = await start(ok, { headersTimeoutMs: 2000, requestTimeoutMs: 3000 });
    // Timed from before the connection exists: a lower bound however late the client learns it is open.
    const opened = Date.now();
    const c = await client(port);
    await waitFor(() => c.closed(), 5000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(SMALL.idleTimeoutMs - 50);
    expect(cuts).toContain('idle');
  });

  it('closes a kept-alive connection after the keep-alive timeout', async () => {
    const { port } = await start(ok, { idleTimeoutMs: 5000 });
    const c = await client(port);
    c.socket.write(GET());
    await waitFor(() => c.received().includes('ok\n'));
    const answered = Date.now();
    await waitFor(() => c.closed(), 3000);
    expect(Date.now() - answered).toBeLessThan(2000);
  });

  it('cuts a client that never reads a large response after the idle timeout', async () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 'x');
    const { port, cuts } = await start((_req, res) => res.writeHead(200, { 'content-length': big.length }).end(big));
    const c = await client(port, false);
    c.socket.write(GET());
    await waitFor(() => cuts.includes('idle'), 5000);
    const open = await new Promise<number>((resolve) => server!.getConnections((_e, n) => resolve(n)));
    expect(open).toBe(0);
  });

  it('cuts a client that reads too slowly after the response timeout', async () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 'x');
    const { port, cuts } = await start((_req, res) => res.writeHead(200, { 'content-length': big.length }).end(big), {
      responseTimeoutMs: 1500,
      idleTimeoutMs: 1000,
    });
    const c = await client(port, false);
    c.socket.write(GET());
    // Read a little every 100 ms: never idle for the idle timeout, never done.
    const trickle = setInterval(() => void c.socket.read(16 * 1024), 100);
    try {
      await waitFor(() => cuts.includes('response-time'), 5000);
    } finally {
      clearInterval(trickle);
    }
    expect(cuts).not.toContain('idle');
  });

  it('answers 408 to headers that do not arrive within the headers timeout', async () => {
    const { port } = await start(ok, { idleTimeoutMs: 5000 });
    const c = await client(port);
    c.socket.write('GET / HTTP/1.1\r\nHost: t\r\n');
    // One header line every 200 ms: never idle, never done.
    let n = 0;
    const drip = setInterval(() => c.socket.write(`X-${n++}: y\r\n`), 200);
    try {
      await waitFor(() => c.closed(), 4000);
    } finally {
      clearInterval(drip);
    }
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('answers at most maxRequestsPerSocket requests on one connection', async () => {
    const { port } = await start(ok, { idleTimeoutMs: 1000 });
    const c = await client(port);
    c.socket.write(GET().repeat(5));
    // The third answer says Connection: close, the rest are 503; the connection goes after the keep-alive timeout.
    await waitFor(() => c.closed(), 3000);
    const answers = c.received().match(/HTTP\/1\.1 \d+/g) ?? [];
    expect(answers).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 503', 'HTTP/1.1 503']);
  });
});

describe('scrapeResponder', () => {
  function source(page: string): ScrapeSource & { renders: number; version: number } {
    return {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      renders: 0,
      version: 1,
      metrics() {
        this.renders++;
        return new Promise((resolve) => setTimeout(() => resolve(page), 50));
      },
    };
  }

  it('renders once for scrapes that arrive together, and again only when the version changes', async () => {
    const src = source('a 1\n');
    const scrape = scrapeResponder(src, 8);
    const { port } = await start(scrape, { maxConnections: 16 });
    const get = () => fetch(`http://127.0.0.1:${port}/metrics`).then(async (r) => [r.status, await r.text()]);
    expect(await Promise.all([get(), get(), get()])).toEqual([
      [200, 'a 1\n'],
      [200, 'a 1\n'],
      [200, 'a 1\n'],
    ]);
    expect(src.renders).toBe(1);
    expect(await get()).toEqual([200, 'a 1\n']);
    expect(src.renders).toBe(1);
    src.version++;
    await get();
    expect(src.renders).toBe(2);
  });

  it('renders every time for a source without a version (process metrics change on their own)', async () => {
    const src: ScrapeSource & { renders: number } = {
      contentType: 'text/plain',
      renders: 0,
      metrics() {
        this.renders++;
        return Promise.resolve(`n ${this.renders}\n`);
      },
    };
    const { port } = await start(scrapeResponder(src, 8));
    const get = () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    expect(await get()).toBe('n 1\n');
    expect(await get()).toBe('n 2\n');
  });

  it('answers 503 past maxConcurrentScrapes in progress', async () => {
    const big = 'x'.repeat(32 * 1024 * 1024);
    const scrapeCuts: HttpCut[] = [];
    const { port } = await start(
      scrapeResponder(source(big), 2, (c) => scrapeCuts.push(c)),
      { maxConnections: 16, idleTimeoutMs: 5000 },
    );
    // Two scrapers that never read hold both places.
    const stuck = [await client(port, false), await client(port, false)];
    for (const c of stuck) c.socket.write(GET('/metrics'));
    await new Promise((r) => setTimeout(r, 300));
    const third = await client(port);
    third.socket.write(GET('/metrics'));
    await waitFor(() => third.received().includes('\r\n\r\n'));
    expect(third.received()).toMatch(/^HTTP\/1\.1 503/);
    expect(third.received()).toContain('retry-after: 1');
    expect(scrapeCuts).toEqual(['scrape-limit']);
    for (const c of stuck) c.socket.destroy();
    // Their places free up as the server sees them go.
    let fourth = await fetch(`http://127.0.0.1:${port}/metrics`);
    for (let i = 0; fourth.status === 503 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      fourth = await fetch(`http://127.0.0.1:${port}/metrics`);
    }
    expect(fourth.status).toBe(200);
    expect((await fourth.text()).length).toBe(big.length);
  });
});

// Streams and connections are bounded (issue 12, point 2): the attacks that
// grew the adapter to gigabytes, in bounded form, from raw node:http2 and TCP
// clients against the built adapter as a child process. During each attack a
// client connected beforehand (as Mixer is) keeps being served, and the
// adapter's peak RSS (/proc VmHWM) stays inside the Deployment's limit.
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceDefinitions } from '../src/wire/load.js';
import { DEFAULT_STREAM_LIMITS } from '../src/transport/stream-guard.js';
import { type CliProcess } from './helpers/cli.js';
import { connect, paramsAny, type Clients } from './helpers/clients.js';
import { MiB, peakRssBytes, rssBytes } from './helpers/child-memory.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';
import { grpcMessage, grpcPrefix, rawGrpcStream } from './helpers/wire.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

let dir: string;
let adapter: CliProcess;
let port: number;
let mixer: Clients;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'stream-bounds-'));
  adapter = await startAsDeployment(['0', '--host', '127.0.0.1', '--log-level', 'warn', '--data-dir', dir]);
  port = Number(adapter.address.split(':').at(-1));
  mixer = connect(adapter.address);
  await served();
}, 60_000);

afterAll(async () => {
  mixer?.close();
  adapter?.child.kill('SIGTERM');
  await adapter?.exited;
  await rm(dir, { recursive: true, force: true });
});

const GOOD = serviceDefinitions().metric.HandleMetric.requestSerialize({
  instances: [{ name: 'good', value: int(1) }],
  adapter_config: paramsAny({ sink: 'stdout' }),
});

/** A normal call on the connection that was there before the attack. */
async function served(): Promise<void> {
  await mixer.metric({ instances: [{ name: 'mixer', value: int(1) }], adapter_config: paramsAny({ sink: 'stdout' }) });
}

function rawSession(settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`, { settings, maxSessionMemory: 1000 });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

async function report(what: string): Promise<number> {
  const peak = await peakRssBytes(adapter.child.pid!);
  const now = await rssBytes(adapter.child.pid!);
  console.log(`stream-bounds ${what}: adapter RSS ${(now / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`);
  return peak;
}

describe('connection and stream bounds', () => {
  it('half-open streams (headers and part of a message, never END_STREAM) over 4 connections', async () => {
    // 4 x 1024 streams (the per-connection maximum), 64 KiB of each message sent: 4096 streams, 256 MiB
    // announced, against at most 2048 streams and 16 MiB still arriving.
    const sessions = await Promise.all([0, 1, 2, 3].map(() => rawSession()));
    const resets: number[] = [];
    const chunk = Buffer.concat([grpcPrefix(1024 * 1024), Buffer.alloc(64 * 1024 - 5, 1)]);
    for (const session of sessions) {
      for (let i = 0; i < 1024; i++) {
        const stream = rawGrpcStream(session);
        stream.on('close', () => resets.push(stream.rstCode ?? -1));
        stream.write(chunk);
      }
    }
    await waitFor(() => resets.length >= 4096 - DEFAULT_STREAM_LIMITS.maxStreams, 60_000);
    await waitFor(() => resets.includes(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM), 60_000);
    await served();
    const counts = (code: number) => resets.filter((c) => c === code).length;
    // Past 2048 streams the heaviest connection loses its newest; past 16 MiB still arriving, its largest.
    expect(counts(http2.constants.NGHTTP2_REFUSED_STREAM)).toBeGreaterThan(0);
    expect(counts(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM)).toBeGreaterThan(0);
    expect(adapter.stderr()).toContain('connection or stream cut by a bound: stream-limit');
    expect(adapter.stderr()).toContain('connection or stream cut by a bound: pending-bytes');
    expect(await report('half-open streams')).toBeLessThan(DEPLOYMENT_LIMIT);
    for (const s of sessions) s.destroy();
  }, 120_000);

  it('a flood of 100,000 half-open streams over 8 connections, each opened again as soon as one is cut', async () => {
    // The earlier campaign's million-stream flood peaked at 319-380 MB before its connections were reset;
    // a million here (90 s) peaked at 224 MiB, most of it in the first seconds.
    const TOTAL = 100_000;
    const chunk = Buffer.concat([grpcPrefix(1000), Buffer.alloc(100, 1)]);
    let opened = 0;
    let cut = 0;
    const flood = async (): Promise<void> => {
      while (opened < TOTAL) {
        const session = await rawSession({}).catch(() => undefined);
        if (!session) continue;
        session.on('error', () => undefined);
        await new Promise<void>((done) => {
          let open = 0;
          const pump = (): void => {
            while (open < 1000 && opened < TOTAL && !session.closed && !session.destroyed) {
              opened++;
              open++;
              const stream = rawGrpcStream(session);
              stream.on('close', () => {
                open--;
                cut++;
                setImmediate(pump);
              });
              stream.write(chunk);
            }
            // The last streams stay open: the adapter would reset them after --request-arrival.
            if (opened >= TOTAL) done();
          };
          session.once('close', done);
          pump();
        });
        session.destroy();
      }
    };
    await Promise.all(Array.from({ length: 8 }, flood));
    expect(cut).toBeGreaterThan(TOTAL - 8 * 1024);
    await served();
    expect(adapter.child.exitCode).toBeNull();
    expect(adapter.stderr()).toContain('connection or stream cut by a bound: stream-limit');
    expect(await report('half-open stream flood')).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 180_000);

  it('a client that never reads (window 0) sending 5000 calls on one connection', async () => {
    const session = await rawSession({ initialWindowSize: 0 });
    const body = grpcMessage(GOOD);
    let answeredHeaders = 0;
    for (let i = 0; i < 5000; i++) {
      const stream = rawGrpcStream(session);
      stream.on('response', () => answeredHeaders++);
      stream.end(body);
    }
    // The adapter decides each call; its answers wait in a window the client never opens,
    // so the streams stay open and the connection may hold no more than 1024 of them.
    await waitFor(() => answeredHeaders >= 1000, 60_000);
    await served();
    await new Promise((r) => setTimeout(r, 1000));
    expect(answeredHeaders).toBeLessThanOrEqual(1024);
    expect(await report('window-0 client')).toBeLessThan(DEPLOYMENT_LIMIT);
    session.destroy();
  }, 120_000);

  it('300 HTTP/2 connections that send their preface and then nothing: a new client is still served', async () => {
    // Each resolves once the adapter's SETTINGS came, or the connection was closed (past the limit).
    const idle = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<http2.ClientHttp2Session | undefined>((resolve) => {
            const s = http2.connect(`http://127.0.0.1:${port}`);
            s.on('error', () => undefined);
            s.once('remoteSettings', () => resolve(s));
            s.once('close', () => resolve(undefined));
          }),
      ),
    );
    // Past the connection limit the idlest gave way: the newest idle ones are all that is left.
    await waitFor(
      () => idle.filter((s) => s && !s.closed && !s.destroyed).length <= DEFAULT_STREAM_LIMITS.maxConnections,
      30_000,
    );
    const fresh = connect(adapter.address);
    try {
      await fresh.metric({
        instances: [{ name: 'fresh', value: int(1) }],
        adapter_config: paramsAny({ sink: 'stdout' }),
      });
    } finally {
      fresh.close();
    }
    await served();
    expect(adapter.child.exitCode).toBeNull();
    expect(await report('idle HTTP/2 connections')).toBeLessThan(DEPLOYMENT_LIMIT);
    for (const s of idle) s?.destroy();
  }, 120_000);

  it('2000 TCP connections that never send the HTTP/2 preface', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    // In batches, so the listen backlog never overflows (a dropped SYN is retried seconds later).
    for (let batch = 0; batch < 20; batch++) {
      const opened = Array.from({ length: 100 }, () => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.on('close', () => closed++);
        s.resume(); // reads, so the adapter closing it is seen
        sockets.push(s);
        return new Promise((resolve) => {
          s.once('connect', resolve);
          s.once('close', resolve);
        });
      });
      await Promise.all(opened);
    }
    // Past --max-connections they are closed at once; the rest after the preface deadline.
    await waitFor(() => closed >= 2000 - DEFAULT_STREAM_LIMITS.maxConnections, 30_000);
    await served();
    await waitFor(() => closed === 2000, DEFAULT_STREAM_LIMITS.prefaceMs + 20_000);
    await served();
    expect(await report('preface-less connections')).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 120_000);
});

// Every connection slot can be taken back from a client that does not use it
// (issue 20, points 1 and 2), against the in-process adapter with its
// connection bound tightened to 16:
// - connections that sent their preface and then nothing hold no slot a new
//   client needs: the idlest gives way, a connection with a call open never,
//   and one that carried calls only after those that carried none;
// - TLS sessions whose peer vanished while Node 20 had stopped reading them
//   (a burst of ping frames, then a reset, while the adapter is busy with
//   others) never close on their own; they must not keep new clients out,
//   and their descriptors are freed. (Node 24 closes them itself.)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { METRIC_METHOD_PATH, serviceDefinitions } from '../src/wire/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { MIXER_SPIFFE, Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { connect, paramsAny, rawStatus, type Clients } from './helpers/clients.js';
import { mixerCredentials, report } from './helpers/mixer-tls.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';
import { grpcPrefix, rawGrpcStream } from './helpers/wire.js';
import { MiB, peakRssBytes } from './helpers/child-memory.js';
import { stopCli } from './helpers/cli.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

const LIMIT = 16;

/** The attacker's program (argv: port, waves, connections per wave, certificate folder, "true" to present a client certificate). */
const STORM = `
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
const [port, waves, count, dir, clientCert] = process.argv.slice(1);
const file = (name) => readFileSync(dir + '/' + name);
const options = { ca: file('ca.crt'), servername: 'localhost', ALPNProtocols: ['h2'],
  ...(clientCert === 'true' ? { cert: file('mixer.crt'), key: file('mixer.key') } : {}) };
const preface = Buffer.from('PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n');
const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const ping = Buffer.from([0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
const flood = Buffer.concat([preface, settings, ...Array(2000).fill(ping)]);
const one = () => new Promise((resolve) => {
  const tcp = net.connect(Number(port), '127.0.0.1');
  tcp.on('error', () => undefined);
  const timer = setTimeout(() => { tcp.destroy(); resolve(); }, 5000);
  const done = () => { clearTimeout(timer); resolve(); };
  const socket = tls.connect({ ...options, socket: tcp }, () => {
    socket.write(flood);
    setTimeout(() => { tcp.resetAndDestroy(); done(); }, 5);
  });
  socket.on('error', () => undefined);
  socket.once('close', done);
});
for (let wave = 0; wave < Number(waves); wave++) await Promise.all(Array.from({ length: Number(count) }, one));
`;

let adapter: TestAdapter | undefined;
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await adapter?.stop();
  adapter = undefined;
});

const GOOD = serviceDefinitions().metric.HandleMetric.requestSerialize({
  instances: [{ name: 'mixer', value: int(1) }],
  adapter_config: paramsAny({ sink: 'stdout' }),
});

const call = (clients: Clients) =>
  clients.metric({ instances: [{ name: 'legit', value: int(1) }], adapter_config: paramsAny({ sink: 'stdout' }) });

/** Connections that send the HTTP/2 preface and then nothing; each one closed is dialed again (at most `maxDials` in all). */
function idleConnections(port: number, count: number, maxDials = 400) {
  const open = new Set<http2.ClientHttp2Session>();
  let dials = 0;
  let ready = 0;
  let closed = 0;
  let stopped = false;
  const dial = (): void => {
    if (stopped || dials >= maxDials) return;
    dials++;
    const session = http2.connect(`http://127.0.0.1:${port}`);
    open.add(session);
    session.on('error', () => undefined);
    session.once('remoteSettings', () => ready++);
    session.once('close', () => {
      open.delete(session);
      closed++;
      dial();
    });
  };
  for (let i = 0; i < count; i++) dial();
  const stop = (): void => {
    stopped = true;
    for (const s of open) s.destroy();
  };
  cleanups.push(stop);
  return { ready: () => ready, closed: () => closed, stop };
}

async function plainAdapter(): Promise<TestAdapter> {
  adapter = await startTestAdapter({
    logLevel: 'warn',
    streams: { maxConnections: LIMIT, requestArrivalMs: 120_000, maxStreamMs: 120_000 },
  });
  return adapter;
}

describe('idle connections give way (plaintext)', () => {
  it('a client holding every slot with idle connections, re-dialing each one closed, locks no new client out', async () => {
    const t = await plainAdapter();
    const attacker = idleConnections(t.adapter.port, LIMIT);
    await waitFor(() => attacker.ready() === LIMIT);
    // New clients, a connection each, one after another: every call is served.
    for (let i = 0; i < 10; i++) {
      const clients = connect(`127.0.0.1:${t.adapter.port}`, undefined, { 'grpc.use_local_subchannel_pool': 1 });
      try {
        await call(clients);
      } finally {
        clients.close();
      }
    }
    expect(attacker.closed()).toBeGreaterThanOrEqual(10);
    expect(t.logs()).toContain('connection or stream cut by a bound: idle-connection');
  });

  it('never closes a connection with a call open, nor one that carries calls for ones that carry none', async () => {
    const t = await plainAdapter();
    const port = t.adapter.port;
    // The oldest connection: a call whose request is still arriving.
    const busy = http2.connect(`http://127.0.0.1:${port}`);
    cleanups.push(() => busy.destroy());
    busy.on('error', () => undefined);
    let busyClosed = false;
    busy.once('close', () => (busyClosed = true));
    busy.once('goaway', () => (busyClosed = true));
    const held = rawGrpcStream(busy);
    held.write(Buffer.concat([grpcPrefix(64), Buffer.from('half')]));
    // Next: a client that made a call and now waits, as Mixer between reports.
    const mixer = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    cleanups.push(() => mixer.close());
    expect(await rawStatus(mixer, METRIC_METHOD_PATH, GOOD)).toEqual({ code: grpc.status.OK, details: '' });
    let mixerReconnected = false;
    mixer
      .getChannel()
      .watchConnectivityState(grpc.connectivityState.READY, Date.now() + 600_000, () => (mixerReconnected = true));
    // Then idle connections in every other slot, and 40 more, one after another.
    const attacker = idleConnections(port, LIMIT - 2);
    await waitFor(() => attacker.ready() === LIMIT - 2);
    for (let i = 0; i < 40; i++) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      const admitted = await new Promise<boolean>((resolve) => {
        session.once('remoteSettings', () => resolve(true));
        session.once('close', () => resolve(false));
      });
      session.destroy();
      expect(admitted).toBe(true);
    }
    expect(busyClosed).toBe(false);
    expect(held.closed).toBe(false);
    expect(mixerReconnected).toBe(false);
    expect(await rawStatus(mixer, METRIC_METHOD_PATH, GOOD)).toEqual({ code: grpc.status.OK, details: '' });
    expect(mixerReconnected).toBe(false); // served on the connection it had
    expect(attacker.closed()).toBeGreaterThanOrEqual(40);
  });
});

describe('dead TLS sessions', () => {
  let pki: Pki;
  let ca: KeyPair;
  let server: KeyPair;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'connection-bounds-'));
    pki = new Pki(dir);
    ca = await pki.ca('ca');
    [server] = await Promise.all([
      pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' }),
      pki.leaf('mixer', ca, { sans: `URI:${MIXER_SPIFFE}`, serial: '2001' }),
    ]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Sockets this process holds open: the in-process adapter's and its clients'. */
  function openSockets(): number {
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
      } catch {
        // closed while listed
      }
    }
    return n;
  }

  /**
   * The attacker, in a process of its own (it must act while the adapter is
   * busy, not wait its turn on the adapter's event loop): `waves` times,
   * `count` connections at once finish the TLS handshake, send the HTTP/2
   * preface with 2000 pings, and reset the connection 5 ms later.
   */
  async function storm(port: number, waves: number, count: number, clientCert: boolean): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', STORM, String(port), String(waves), String(count), dir, String(clientCert)],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    cleanups.push(() => child.kill());
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }

  /**
   * `count` new clients at once, each on a connection of its own, each
   * making one call while all hold their connections: how many were served,
   * and in how long.
   */
  async function newClients(port: number, count: number, clientCert: boolean) {
    const tlsOptions = {
      ca: await pki.read('ca.crt'),
      clientCert: clientCert ? { cert: await pki.read('mixer.crt'), key: await pki.read('mixer.key') } : undefined,
    };
    const started = performance.now();
    const clients = Array.from({ length: count }, () =>
      connect(`127.0.0.1:${port}`, mixerCredentials(tlsOptions), {
        'grpc.ssl_target_name_override': 'localhost',
        'grpc.use_local_subchannel_pool': 1, // a connection each
      }),
    );
    try {
      const results = await Promise.allSettled(clients.map(report));
      return { served: results.filter((r) => r.status === 'fulfilled').length, ms: performance.now() - started };
    } finally {
      for (const c of clients) c.close();
    }
  }

  for (const mutual of [false, true]) {
    it(`every slot serves new clients within seconds after 30 x 16 sessions reset under the adapter (${mutual ? 'mutual TLS' : 'TLS'})`, async () => {
      adapter = await startTestAdapter({
        logLevel: 'warn',
        streams: { maxConnections: LIMIT, unusedConnectionMs: 2000 },
        security: {
          ...DEFAULT_OPTIONS.security,
          tls: {
            certFile: server.cert,
            keyFile: server.key,
            ...(mutual ? { clientCaFile: ca.cert, requireClientCert: true } : { requireClientCert: false }),
          },
        },
      });
      const t = adapter;
      const before = openSockets();
      await storm(t.adapter.port, 30, LIMIT, mutual);
      // Every slot is there for new clients at once: none is held by a dead session.
      const { served, ms } = await newClients(t.adapter.port, LIMIT, mutual);
      console.log(
        `connection-bounds: ${mutual ? 'mutual TLS' : 'TLS'}: ${served} of ${LIMIT} new clients served in ${ms.toFixed(0)} ms after the storm`,
      );
      expect(served).toBe(LIMIT);
      expect(ms).toBeLessThan(5000);
      // The sessions left behind close within the unused-connection bound (2 s here).
      let left = 0;
      const released = await new Promise<boolean>((resolve) => {
        const end = performance.now() + 10_000;
        const check = (): void => {
          left = openSockets() - before;
          if (left <= 2) resolve(true);
          else if (performance.now() > end) resolve(false);
          else setTimeout(check, 100);
        };
        check();
      });
      expect(released, `${left} sockets still open`).toBe(true);
    }, 60_000);
  }

  it('the storm of the report (300 sessions reset, three times) against the adapter run as the Deployment runs it', async () => {
    const deployed = await startAsDeployment([
      ...['0', '--host', '127.0.0.1', '--log-level', 'warn'],
      ...['--tls-cert', server.cert, '--tls-key', server.key],
    ]);
    try {
      const port = Number(deployed.address.split(':').at(-1));
      await storm(port, 3, 300, false);
      const { served } = await newClients(port, LIMIT, false);
      expect(served).toBe(LIMIT);
      expect(deployed.child.exitCode).toBeNull();
      const peak = await peakRssBytes(deployed.child.pid!);
      console.log(`connection-bounds: TLS storm, the adapter as deployed: peak RSS ${(peak / MiB).toFixed(1)} MiB`);
      expect(peak).toBeLessThan(DEPLOYMENT_LIMIT);
    } finally {
      await stopCli(deployed);
    }
  }, 120_000);
});

// The HTTP ports hold their bounds against every client that can reach them:
// the built adapter as a child process with a descriptor limit of 1024 (as
// `ulimit -n 1024`), its ops, metrics and Prometheus sink ports attacked from
// raw TCP sockets. Idle connections past a listener's limit push out the
// oldest idle ones, so /healthz on a fresh connection, a new gRPC connection
// and a new file sink keep working, and idle ones are closed after the idle
// timeout. Scrapers that pipeline GETs of a 2 MB page and never read hold no
// copies of it: the child's RSS stays bounded and it answers a normal scrape.
import http from 'node:http';
import net from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_BOUNDS, httpConnectionLimit } from '../src/observe/http-bounds.js';
import { MiB, peakRssBytes, rssBytes } from './helpers/child-memory.js';
import { type CliProcess, stopCli } from './helpers/cli.js';
import { connect, paramsAny, type Clients } from './helpers/clients.js';
import { freePort } from './helpers/real-prometheus.js';
import { dbl, int, str } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

const NOFILE = 1024;

let dir: string;
let adapter: CliProcess;
let mixer: Clients;
let ports: { ops: number; metrics: number; prometheus: number };
/** Every attacking socket, destroyed at the end whatever happened. */
const attackers: net.Socket[] = [];

async function distinctFreePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let i = 0; out.size < n && i < 50; i++) out.add(await freePort());
  return [...out];
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'http-bounds-'));
  const [ops, metrics, prometheus] = await distinctFreePorts(3);
  ports = { ops: ops!, metrics: metrics!, prometheus: prometheus! };
  adapter = await startAsDeployment(
    [
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      '--data-dir',
      dir,
      '--ops-port',
      String(ports.ops),
      '--metrics-port',
      String(ports.metrics),
      '--prometheus-port',
      String(ports.prometheus),
    ],
    // Soft and hard: Node cannot raise it at start.
    { nofile: NOFILE },
  );
  mixer = connect(adapter.address);
  await served();
}, 60_000);

afterAll(async () => {
  for (const s of attackers) s.destroy();
  mixer?.close();
  await stopCli(adapter);
  await rm(dir, { recursive: true, force: true });
});

/** A normal call on the connection that was there before the attack. */
async function served(): Promise<void> {
  await mixer.metric({ instances: [{ name: 'mixer', value: int(1) }], adapter_config: paramsAny({ sink: 'stdout' }) });
}

interface Answer {
  status: number;
  body: string;
}

/** One request on a fresh connection, as the kubelet probes. */
function get(port: number, urlPath: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const openDescriptors = async (): Promise<number> => (await readdir(`/proc/${adapter.child.pid!}/fd`)).length;

async function report(what: string): Promise<number> {
  const peak = await peakRssBytes(adapter.child.pid!);
  const now = await rssBytes(adapter.child.pid!);
  console.log(`http-bounds ${what}: adapter RSS ${(now / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`);
  return peak;
}

interface Attack {
  sockets: net.Socket[];
  closed(): number;
}

/**
 * `count` TCP connections to `port`, in batches of 100 so the listen backlog
 * never overflows; each resolves once connected (or closed at once).
 * `onConnect` may write to the socket; `read` says whether the socket reads.
 */
async function attack(
  port: number,
  count: number,
  onConnect: (s: net.Socket) => void = () => undefined,
  read = true,
): Promise<Attack> {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let batch = 0; batch * 100 < count; batch++) {
    const opened = Array.from({ length: Math.min(100, count - batch * 100) }, () => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      if (read) s.resume();
      sockets.push(s);
      attackers.push(s);
      return new Promise<void>((resolve) => {
        s.once('connect', () => {
          onConnect(s);
          resolve();
        });
        s.once('close', () => resolve());
      });
    });
    await Promise.all(opened);
  }
  return { sockets, closed: () => closed };
}

describe('the HTTP listeners under a descriptor limit of 1024', () => {
  it('runs with RLIMIT_NOFILE 1024', async () => {
    const limits = await readFile(`/proc/${adapter.child.pid!}/limits`, 'utf8');
    expect(limits).toMatch(/^Max open files\s+1024\s+1024\s+files/m);
  });

  it('1100 idle connections to each HTTP port: fresh probes, gRPC connections and file sinks still work', async () => {
    const limit = httpConnectionLimit(NOFILE);
    const before = await openDescriptors();
    const attacks: Attack[] = [];
    for (const port of [ports.ops, ports.metrics, ports.prometheus]) attacks.push(await attack(port, 1100));
    // Each listener keeps at most its limit; the rest were pushed out or closed on accept.
    for (const a of attacks) await waitFor(() => a.closed() >= 1100 - limit, 10_000);
    expect(await openDescriptors()).toBeLessThanOrEqual(before + 3 * limit);

    expect(await get(ports.ops, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await get(ports.metrics, '/metrics')).status).toBe(200);
    expect((await get(ports.prometheus, '/metrics')).status).toBe(200);
    await served();
    // A connection of its own (grpc-js would otherwise share the one above).
    const fresh = connect(adapter.address, undefined, { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const file = path.join(dir, 'fresh-sink.log');
      await fresh.metric({
        instances: [{ name: 'fresh.instance.istio-system', value: int(7) }],
        adapter_config: paramsAny({ file_path: file }),
      });
      expect(await readFile(file, 'utf8')).toContain('fresh.instance.istio-system');
    } finally {
      fresh.close();
    }

    // The idle ones left are closed after the idle timeout.
    const all = () => attacks.reduce((n, a) => n + a.closed(), 0);
    await waitFor(() => all() === 3 * 1100, DEFAULT_HTTP_BOUNDS.idleTimeoutMs + 10_000);
    expect(await openDescriptors()).toBeLessThanOrEqual(before + 2);
    expect(await get(ports.ops, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await report('idle connections')).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 120_000);

  it('100 connections pipelining four GETs of a 2 MB page and never reading', async () => {
    // 1000 series with 2000-byte label values: a page of about 2 MB.
    const params = paramsAny({
      sink: 'prometheus',
      metrics: [
        {
          namespace: 'test',
          name: 'big',
          instance_name: 'big.instance.istio-system',
          kind: 'GAUGE',
          label_names: ['k'],
        },
      ],
    });
    const pad = 'x'.repeat(1990);
    for (let i = 0; i < 1000; i += 250) {
      await mixer.metric({
        instances: Array.from({ length: 250 }, (_, j) => ({
          name: 'big.instance.istio-system',
          value: dbl(i + j),
          dimensions: { k: str(`${String(i + j).padStart(6, '0')}${pad}`) },
        })),
        adapter_config: params,
      });
    }
    const page = await get(ports.prometheus, '/metrics');
    expect(page.status).toBe(200);
    expect(page.body.length).toBeGreaterThan(2_000_000);
    const baseline = await rssBytes(adapter.child.pid!);
    const before = await openDescriptors();

    const request = 'GET /metrics HTTP/1.1\r\nHost: adapter\r\n\r\n'.repeat(4);
    const scrapers = await attack(ports.prometheus, 100, (s) => s.write(request), false);
    // Give the adapter time to answer what it will; nobody reads.
    const deadline = Date.now() + 3000;
    let peakDuring = 0;
    while (Date.now() < deadline) {
      peakDuring = Math.max(peakDuring, await rssBytes(adapter.child.pid!));
      await new Promise((r) => setTimeout(r, 100));
    }
    await served();
    console.log(
      `http-bounds slow scrapers: baseline ${(baseline / MiB).toFixed(1)} MiB, during ${(peakDuring / MiB).toFixed(1)} MiB`,
    );
    expect(await report('slow scrapers')).toBeLessThan(DEPLOYMENT_LIMIT);
    expect(peakDuring - baseline).toBeLessThan(64 * MiB);
    // Writers that do not read are cut, and a normal scrape is answered again.
    const end = Date.now() + DEFAULT_HTTP_BOUNDS.idleTimeoutMs + DEFAULT_HTTP_BOUNDS.responseTimeoutMs + 10_000;
    for (;;) {
      const fds = await openDescriptors();
      if (fds <= before + 2) break;
      if (Date.now() > end) throw new Error(`${fds - before} scraper connections still open`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await get(ports.prometheus, '/metrics');
    expect(after.status).toBe(200);
    expect(after.body).toBe(page.body);
    console.log(
      `http-bounds slow scrapers: after they were cut ${((await rssBytes(adapter.child.pid!)) / MiB).toFixed(1)} MiB`,
    );
    expect(scrapers.sockets).toHaveLength(100);
  }, 120_000);
});

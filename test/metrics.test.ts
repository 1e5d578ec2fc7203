// Scrapes /metrics after real calls and checks the counters moved by the right amounts.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, startCli, type CliProcess } from './helpers/cli.js';
import { int, str } from './helpers/values.js';

let dir: string;
let t: TestAdapter | undefined;
let proc: CliProcess | undefined;

beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'metrics-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  await t?.stop();
  t = undefined;
  if (proc && proc.child.exitCode === null) process.kill(proc.child.pid!, 'SIGKILL');
  proc = undefined;
});

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample, matching a metric name and a subset of its labels; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total += Number(m[3]);
      found = true;
    }
  }
  return found ? total : 0;
}

describe('Prometheus metrics', () => {
  it('counts calls, instances, bytes, decode errors and cache evictions', async () => {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1', handlerCacheSize: 2 });
    const port = t.adapter.metricsPort!;
    const before = await scrape(port);
    expect(sample(before, 'mygrpcadapter_calls_total')).toBe(0);
    expect(before).toContain('mygrpcadapter_process_resident_memory_bytes');

    const req = {
      instances: [
        { name: 'a', value: int(1) },
        { name: 'b', value: int(2) },
      ],
      adapter_config: paramsAny({ file_path: 'm.txt' }),
    };
    for (let i = 0; i < 3; i++) await t.clients.metric(req);
    await t.clients
      .metric({ instances: [], adapter_config: { type_url: 'type.googleapis.com/x.Params', value: Buffer.alloc(0) } })
      .catch(() => undefined);
    await t.clients.authorization({
      instance: { name: 'c', subject: { properties: { custom_token_header: str('k') } } },
      adapter_config: paramsAny({ file_path: 'a.txt', auth_key: 'k' }),
    });
    await t.clients.authorization({
      instance: { name: 'c', subject: { properties: { custom_token_header: str('no') } } },
      adapter_config: paramsAny({ file_path: 'a.txt', auth_key: 'k' }),
    });

    const after = await scrape(port);
    expect(sample(after, 'mygrpcadapter_calls_total', { method: 'HandleMetric', code: 'OK' })).toBe(3);
    expect(sample(after, 'mygrpcadapter_calls_total', { method: 'HandleMetric', code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_calls_total', { method: 'HandleAuthorization', code: 'OK' })).toBe(2);
    expect(sample(after, 'mygrpcadapter_call_duration_seconds_count', { method: 'HandleMetric' })).toBe(4);
    expect(sample(after, 'mygrpcadapter_instances_total', { template: 'metric' })).toBe(6);
    expect(sample(after, 'mygrpcadapter_instances_total', { template: 'authorization' })).toBe(2);
    expect(sample(after, 'mygrpcadapter_params_decode_errors_total')).toBe(1);
    const fileBytes = (await stat(path.join(dir, 'm.txt'))).size;
    expect(
      sample(after, 'mygrpcadapter_sink_bytes_written_total', { sink: 'file', destination: path.join(dir, 'm.txt') }),
    ).toBe(fileBytes);
    expect(sample(after, 'mygrpcadapter_sink_write_duration_seconds_count', { sink: 'file' })).toBeGreaterThanOrEqual(
      3,
    );
    expect(after).toContain('mygrpcadapter_tls_reloads_total');
    // A third handler configuration through a cache of two: one eviction (the
    // metric one, least recently used), whose series go with it.
    await t.clients.metric({
      instances: [{ name: 'z', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'z.txt' }),
    });
    const evicted = await scrape(port);
    expect(sample(evicted, 'mygrpcadapter_handler_cache_evictions_total')).toBe(1);
    expect(sample(evicted, 'mygrpcadapter_handler_cache_size')).toBe(2);
    expect(sample(evicted, 'mygrpcadapter_instances_total', { template: 'metric' })).toBe(1);
    expect(sample(evicted, 'mygrpcadapter_instances_total', { template: 'authorization' })).toBe(2);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('counts refused and failed sink writes and shows buffer depth', async () => {
    const control = memorySinkControl();
    t = await startTestAdapter(
      { metricsPort: 0, metricsHost: '127.0.0.1', sinkBufferBytes: 100, sinkWaitMs: 20 },
      { memory: (spec, env) => Promise.resolve(new MemorySink(control, env.buffer, env.events?.(spec))) },
    );
    const port = t.adapter.metricsPort!;
    const call = () =>
      t!.clients.metric({
        instances: [{ name: 'x', value: str('y'.repeat(200)) }],
        adapter_config: paramsAny({ sink: 'memory' }),
      });
    control.delayMs = 300;
    const slow = call();
    await new Promise((r) => setTimeout(r, 50));
    const during = await scrape(port);
    expect(sample(during, 'mygrpcadapter_sink_buffer_bytes', { sink: 'memory' })).toBeGreaterThan(200);
    await call().catch(() => undefined); // refused: the buffer is full
    await slow;
    control.delayMs = 0;
    control.failWith = 'EIO';
    await call().catch(() => undefined);
    const after = await scrape(port);
    expect(sample(after, 'mygrpcadapter_sink_refused_writes_total', { sink: 'memory' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_sink_failed_writes_total', { sink: 'memory' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_calls_total', { code: 'RESOURCE_EXHAUSTED' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_calls_total', { code: 'UNAVAILABLE' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_sink_buffer_bytes', { sink: 'memory' })).toBe(0);
  });

  it('--metrics-port on the command line', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--metrics-port', '0']);
    const p = proc;
    const end = Date.now() + 5000;
    while (!/"port":(\d+),"msg":"serving Prometheus metrics/.test(p.stderr()) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const port = Number(/"port":(\d+),"msg":"serving Prometheus metrics/.exec(p.stderr())![1]);
    expect(await scrape(port)).toContain('mygrpcadapter_calls_total');
  });
});

describe('deploy/grafana-dashboard.json', () => {
  it('queries only metrics the adapter exports', async () => {
    t = await startTestAdapter({ metricsPort: 0, metricsHost: '127.0.0.1' });
    const exported = new Set(
      (await scrape(t.adapter.metricsPort!))
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .flatMap((l) => {
          const [, , name, type] = l.split(' ');
          return type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!];
        }),
    );
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'deploy/grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(4);
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const names = expr.match(/mygrpcadapter_\w+/g) ?? [];
        expect(names.length, panel.title).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title}: ${name}`).toContain(name);
      }
    }
  });
});

// Scrapes /metrics after real calls and checks the counters moved by the right amounts.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, startCli, type CliProcess } from './helpers/cli.js';
import { itWith } from './helpers/peers.js';
import { sample, scrape } from './helpers/scrape.js';
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

/** Debian's promtool, fed the exposition text on stdin. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('Prometheus metrics', () => {
  it('counts calls, instances, bytes, decode errors and cache evictions', async () => {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1', handlerCacheSize: 2 });
    const port = t.adapter.metricsPort!;
    const before = await scrape(port);
    expect(sample(before, 'mygrpcadapter_calls_total')).toBe(0);
    // The standard process metrics under their standard (unprefixed) names.
    expect(sample(before, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(before).not.toMatch(/^# TYPE mygrpcadapter_(process|nodejs)_/m);

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
    expect(sample(after, 'mygrpcadapter_sink_failed_writes_total', { sink: 'memory', stage: 'write' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_sink_failed_writes_total', { sink: 'memory', stage: 'open' })).toBe(0);
    expect(sample(after, 'mygrpcadapter_calls_total', { code: 'RESOURCE_EXHAUSTED' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_calls_total', { code: 'UNAVAILABLE' })).toBe(1);
    expect(sample(after, 'mygrpcadapter_sink_buffer_bytes', { sink: 'memory' })).toBe(0);
  });

  it('starts known label sets at zero, so the first event shows in rate() and increase()', async () => {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1' });
    const text = await scrape(t.adapter.metricsPort!);
    for (const method of ['HandleMetric', 'HandleAuthorization']) {
      for (const code of [
        'OK',
        'INVALID_ARGUMENT',
        'RESOURCE_EXHAUSTED',
        'UNAVAILABLE',
        'INTERNAL',
        'UNAUTHENTICATED',
      ]) {
        expect(text).toContain(`mygrpcadapter_calls_total{method="${method}",code="${code}"} 0`);
      }
    }
    expect(text).toContain('mygrpcadapter_tls_reloads_total{outcome="ok"} 0');
    expect(text).toContain('mygrpcadapter_tls_reloads_total{outcome="error"} 0');
    expect(text).toContain('mygrpcadapter_access_log_entries_total{outcome="received",cause=""} 0');
    expect(text).toContain('mygrpcadapter_access_log_entries_total{outcome="not_written",cause="sink_full"} 0');
    expect(text).toContain('mygrpcadapter_access_log_streams_total{end="overloaded"} 0');
    // A handler's decision and sink-failure series exist from the call that creates it on.
    await t.clients.authorization({
      instance: { name: 'c', subject: { properties: { custom_token_header: str('k') } } },
      adapter_config: paramsAny({ file_path: 'z.txt', auth_key: 'k' }),
    });
    const after = await scrape(t.adapter.metricsPort!);
    const destination = path.join(dir, 'z.txt');
    expect(sample(after, 'mygrpcadapter_decisions_total', { decision: 'allow', reason: 'token_matches' })).toBe(1);
    for (const reason of ['wrong_token', 'missing_token', 'no_key_configured', 'token_not_string']) {
      for (const frontend of ['mixer', 'envoy']) {
        expect(after).toMatch(
          new RegExp(
            `mygrpcadapter_decisions_total\\{handler="\\w+",decision="deny",reason="${reason}",frontend="${frontend}",key=""\\} 0`,
          ),
        );
      }
    }
    for (const stage of ['open', 'write']) {
      expect(sample(after, 'mygrpcadapter_sink_failed_writes_total', { destination, stage }), stage).toBe(0);
      expect(after).toContain(
        `mygrpcadapter_sink_failed_writes_total{sink="file",destination="${destination}",stage="${stage}"} 0`,
      );
    }
  });

  it('counts decisions by reason class and calls whose sink could not be opened', async () => {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1' });
    const check = (token: string | undefined, authKey: string | undefined) =>
      t!.clients.authorization({
        instance: {
          name: 'c',
          subject: { properties: token === undefined ? {} : { custom_token_header: str(token) } },
        },
        adapter_config: paramsAny({ file_path: 'd.txt', ...(authKey === undefined ? {} : { auth_key: authKey }) }),
      });
    await check('k', 'k');
    for (let i = 0; i < 3; i++) await check('wrong', 'k');
    await check(undefined, 'k');
    await check('k', undefined);
    const missing = {
      instances: [{ name: 'x', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'no/such/dir/m.txt' }),
    };
    for (let i = 0; i < 4; i++) await t.clients.metric(missing).catch(() => undefined);
    const text = await scrape(t.adapter.metricsPort!);
    const decided = (decision: string, reason: string) =>
      sample(text, 'mygrpcadapter_decisions_total', { decision, reason });
    expect(decided('allow', 'token_matches')).toBe(1);
    expect(decided('deny', 'wrong_token')).toBe(3);
    expect(decided('deny', 'missing_token')).toBe(1);
    expect(decided('deny', 'no_key_configured')).toBe(1);
    const destination = path.join(dir, 'no/such/dir/m.txt');
    expect(sample(text, 'mygrpcadapter_sink_failed_writes_total', { destination, stage: 'open' })).toBe(4);
    expect(sample(text, 'mygrpcadapter_calls_total', { method: 'HandleMetric', code: 'UNAVAILABLE' })).toBe(4);
    // Logged: each deny's reason class at info, never the token; repeats summed.
    const lines = t
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denies = lines.filter((l) => String(l.msg).startsWith('authorization denied'));
    expect(denies.map((l) => [l.level, l.reason])).toEqual([
      ['info', 'wrong_token'],
      ['info', 'missing_token'],
      ['info', 'no_key_configured'],
    ]);
    expect(t.logs()).not.toContain('wrong"');
    const failures = lines.filter((l) => String(l.msg).startsWith('HandleMetric failed (UNAVAILABLE)'));
    expect(failures).toHaveLength(1);
    await t.stop(); // flushes the counts
    t = undefined;
  });

  itWith(['promtool'], 'passes promtool check metrics', async () => {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1' });
    await t.clients.metric({
      instances: [{ name: 'x', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'p.txt' }),
    });
    const text = await scrape(t.adapter.metricsPort!);
    const result = await promtool(text);
    expect(result, result.output).toMatchObject({ code: 0 });
    // The process metrics operators chart are still there, named as every client library names them.
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_active_handles',
    ]) {
      expect(text).toContain(`\n# TYPE ${name} `);
      expect(text).not.toContain(`mygrpcadapter_${name}`);
    }
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
  it('imports into the Grafana Istio 1.4-1.6 ship (6.x; 7.0.5 with 1.6): schema 16, graph panels, string data sources', async () => {
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'deploy/grafana-dashboard.json'), 'utf8')) as {
      schemaVersion: number;
      panels: Array<{ id: number; type: string; datasource: unknown; targets: Array<{ refId: string }> }>;
      templating: { list: Array<{ name: string; type: string; datasource?: unknown }> };
    };
    // Grafana migrates older schemas forward, never newer ones back; Istio's own
    // dashboards in those releases are schemaVersion 16 with graph panels
    // (timeseries panels and {type, uid} data source objects need Grafana 8.3+).
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(16);
    expect(new Set(dashboard.panels.map((p) => p.type))).toEqual(new Set(['graph']));
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.datasource).toBe('$datasource');
      expect(new Set(panel.targets.map((t) => t.refId)).size).toBe(panel.targets.length);
    }
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['job', 'query'],
    ]);
    expect(dashboard.templating.list[1]!.datasource).toBe('$datasource');
  });

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
        // The adapter's own metrics and the standard unprefixed process_* / nodejs_* ones.
        const names = expr.match(/\b(?:mygrpcadapter|process|nodejs)_\w+/g) ?? [];
        expect(names.length, panel.title).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title}: ${name}`).toContain(name);
      }
    }
  });
});

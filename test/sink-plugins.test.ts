// Sink plug-ins (--sink-module): the example plug-in loaded by path into the
// built adapter, fixtures that break the contract at run time (each call gets
// a clear status and the adapter keeps serving), and modules that must stop
// the start with a message naming the flag.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { BroadcastChannel } from 'node:worker_threads';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import type { AdapterRecord } from '../src/record/types.js';
import { loadSinkModule } from '../src/sinks/plugin-loader.js';
import type { PluginFault } from '../src/sinks/plugin/host.js';
import { DEFAULT_SINK_ENVIRONMENT, type SinkEnvironment } from '../src/sinks/registry.js';
import { SinkError, WRITE_DEADLINE } from '../src/sinks/sink.js';
import { connect, paramsAny, type Clients } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, runBin, startCli, type CliProcess } from './helpers/cli.js';
import { int, str } from './helpers/values.js';
import { rpcError, waitFor } from './helpers/wait.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/sink-plugins');
const fixture = (name: string) => path.join(FIXTURES, name);

function metricCall(sink: string, instance = 'm.instance.istio-system', value = 7) {
  return {
    instances: [{ name: instance, value: int(value), dimensions: { destination_service: str('svc') } }],
    adapter_config: paramsAny({ sink }),
    dedup_id: '1',
  };
}

describe('the example http-sink plug-in in the built adapter', () => {
  let receiver: http.Server;
  const bodies: string[] = [];
  let proc: CliProcess | undefined;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });

  afterAll(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null)
      process.kill(-proc.child.pid!, 'SIGKILL');
    if (receiver.listening) await new Promise((r) => receiver.close(r));
  });

  it('loads it by path and POSTs the records of a stand-in Report as JSON lines', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/records`;
    proc = await startCli(['0', '--host', '127.0.0.1', '--sink-module', 'http=examples/http-sink/index.mjs'], {
      env: { ...process.env, HTTP_SINK_URL: url },
    });
    const config = ['attributes', 'metric', 'authorization', 'mygrpcadapter'].flatMap((f) => [
      '--config',
      `operatorconfig/${f}.yaml`,
    ]);
    const r = await runBin(
      [
        'mixer',
        'report',
        ...config,
        '--config',
        'examples/http-sink/operator_local.yaml',
        '--address',
        proc.address,
        '-s',
        'destination.service=svc.cluster.local',
        '-i',
        'request.size=1235',
      ],
      ROOT,
    );
    expect(r.stdout).toContain('Report RPC returned OK');
    expect(bodies).toHaveLength(1);
    const lines = bodies[0]!.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({
      template: 'metric',
      instance: 'httpmetric.instance.istio-system',
      value: 1235,
      valueKind: 'INT64',
      dimensions: { values: { destination_service: 'svc.cluster.local' } },
      config: { sink: 'http' },
    });
    // The endpoint goes away: the next call says so with a status that invites a retry.
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    const down = await runBin(
      [
        'mixer',
        'report',
        ...config,
        '--config',
        'examples/http-sink/operator_local.yaml',
        '--address',
        proc.address,
        '-i',
        'request.size=1',
      ],
      ROOT,
    );
    expect(down.stdout).toMatch(
      /code = Unavailable desc = records not written: sink plug-in "http": write\(\) failed: .*ECONNREFUSED/,
    );
    process.kill(proc.child.pid!, 'SIGTERM');
    expect(await proc.exited).toBe(0);
  }, 60_000);
});

describe('plug-ins that break the contract at run time', () => {
  let t: TestAdapter;
  // The CommonJS fixture keeps what it was given in globalThis.countingSinkSeen.
  const counting = {
    get seen() {
      return ((globalThis as Record<string, unknown>).countingSinkSeen ?? []) as Array<{
        spec: { type: string; format: string };
        records: Array<{ instance: string; value: unknown }>;
      }>;
    },
  };

  // The adapter runs the counting plug-in in a worker thread: it posts what it
  // got on this channel, and the test keeps it where the getter above looks.
  const channel = new BroadcastChannel('counting-sink');
  channel.onmessage = (event) => {
    const { id, entry } = (event as { data: { id: string; entry: unknown } }).data;
    (((globalThis as Record<string, unknown>).countingSinkSeen ??= []) as unknown[]).push(entry);
    channel.postMessage({ ack: id });
  };

  beforeAll(async () => {
    t = await startTestAdapter({
      logLevel: 'silent',
      sinkWriteTimeoutMs: 300,
      sinkModules: [
        { name: 'rejects', module: fixture('rejects.mjs') },
        { name: 'never', module: fixture('never-resolves.mjs') },
        { name: 'wrong', module: fixture('wrong-shape.mjs') },
        { name: 'counting', module: fixture('counting.cjs') },
      ],
    });
  });
  afterAll(async () => {
    await t.stop();
    channel.close();
  });
  afterEach(async () => {
    // Whatever the broken plug-in did, the adapter still serves the good one.
    const before = counting.seen.length;
    await t.clients.metric(metricCall('counting', 'after.instance.istio-system', 9));
    expect(counting.seen.slice(before).flatMap((s) => s.records.map((r) => [r.instance, r.value]))).toEqual([
      ['after.instance.istio-system', 9],
    ]);
  });

  it('hands a loaded plug-in the records of src/record/ and its spec', async () => {
    const before = counting.seen.length;
    await t.clients.metric(metricCall('counting'));
    const got = counting.seen.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.spec).toEqual({ type: 'counting', format: 'text' });
    expect(got[0]!.records[0]).toMatchObject({ template: 'metric', instance: 'm.instance.istio-system', value: 7 });
  });

  it('a write that rejects: INTERNAL naming the plug-in and its reason', async () => {
    for (let i = 0; i < 2; i++) {
      const err = await rpcError(t.clients.metric(metricCall('rejects')));
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toMatch(/sink plug-in "rejects".*backend refused the records/);
    }
  });

  it('a write that never settles: DEADLINE_EXCEEDED after --sink-write-timeout, every time', async () => {
    for (let i = 0; i < 3; i++) {
      const err = await rpcError(t.clients.metric(metricCall('never')));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
      expect(err.details).toMatch(/records not written within --sink-write-timeout 300 ms: never sink is stalled/);
    }
  });

  it('a write that returns no promise: INTERNAL saying what the contract asks for', async () => {
    const err = await rpcError(t.clients.metric(metricCall('wrong')));
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/sink plug-in "wrong": write\(\) returned undefined, the contract asks for a promise/);
  });

  it('an unknown sink name: INVALID_ARGUMENT listing the built-ins and the plug-ins', async () => {
    const err = await rpcError(t.clients.metric(metricCall('nosuch')));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(
      'sink: expected one of file, stdout, rejects, never, wrong, counting (or empty), got "nosuch"',
    );
  });
});

describe('backpressure on a plug-in', () => {
  it('a full buffer answers RESOURCE_EXHAUSTED after --sink-wait, as for the built-in sinks', async () => {
    const t = await startTestAdapter({
      logLevel: 'silent',
      sinkBufferBytes: 1,
      sinkWaitMs: 200,
      sinkWriteTimeoutMs: 1_500,
      sinkModules: [{ name: 'never', module: fixture('never-resolves.mjs') }],
    });
    try {
      const first = rpcError(t.clients.metric(metricCall('never')));
      // The first call's records fill the buffer while the plug-in holds them.
      await new Promise((r) => setTimeout(r, 100));
      const second = await rpcError(t.clients.metric(metricCall('never')));
      expect(second.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(second.details).toMatch(/sink buffer full/);
      expect((await first).code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      await t.stop();
    }
  }, 20_000);
});

describe('modules that stop the start', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not found', './test/fixtures/sink-plugins/missing.mjs', /--sink-module bad=.*missing\.mjs: module not found/],
    ['an unknown package', 'no-such-sink-package', /--sink-module bad=no-such-sink-package: module not found/],
    [
      'no createSink export',
      fixture('no-factory.mjs'),
      /--sink-module bad=.*no-factory\.mjs: the module exports no createSink function \(it exports makeSink\)/,
    ],
    [
      'a factory that throws',
      fixture('factory-throws.mjs'),
      /--sink-module bad=.*factory-throws\.mjs: createSink threw: cannot reach the backend/,
    ],
    [
      'a factory that returns no write()',
      fixture('no-write.mjs'),
      /--sink-module bad=.*no-write\.mjs: createSink returned object without write\(\)/,
    ],
  ];
  it.each(cases)('%s', async (_what, module, message) => {
    const r = await runBin(['0', '--host', '127.0.0.1', '--sink-module', `bad=${module}`], ROOT);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('listening on');
  });

  it('a NAME that is a built-in sink type', async () => {
    const r = await runBin(['0', '--sink-module', `file=${fixture('counting.cjs')}`], ROOT);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--sink-module file=.*: "file" is a built-in sink type/);
  });

  it('the example without HTTP_SINK_URL', async () => {
    const r = await runBin(['0', '--host', '127.0.0.1', '--sink-module', 'http=examples/http-sink/index.mjs'], ROOT);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/createSink threw: set HTTP_SINK_URL/);
  });
});

/** The port of the ops listener (--ops-port 0), from the adapter's log line that names /healthz. */
function opsPort(stderr: string): number | undefined {
  return loggedPort(stderr, '/healthz');
}

/** The port a listener bound (port 0), from the adapter's log line whose message contains `needle`. */
function loggedPort(stderr: string, needle: string): number | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (typeof entry.msg === 'string' && entry.msg.includes(needle) && typeof entry.port === 'number') {
        return entry.port;
      }
    } catch {
      // a line still being written
    }
  }
  return undefined;
}

/** GET /healthz on a fresh connection, as the kubelet probes; resolves with its status and how long it took. */
function probe(port: number): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('GET /healthz timed out')));
    req.on('error', reject);
  });
}

async function timed(p: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await p;
  return performance.now() - started;
}

/** Calls `call` until it succeeds (a restarted plug-in); every failure on the way must match `failure`. */
async function untilServed(call: () => Promise<unknown>, failure: RegExp, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await call();
      return;
    } catch (err) {
      const e = err as { details?: string; message?: string };
      expect(e.details ?? e.message).toMatch(failure);
      if (Date.now() > end) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lines = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle)).length;

describe('faulting plug-ins in the built adapter, over real gRPC calls', () => {
  let proc: CliProcess;
  let clients: Clients;
  let dataDir: string;
  let ops: number;
  let metricsPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'sink-plugins-'));
    proc = await startCli([
      '0',
      '--host',
      '127.0.0.1',
      '--ops-port',
      '0',
      '--metrics-port',
      '0',
      '--data-dir',
      dataDir,
      '--sink-write-timeout',
      '4000',
      '--sink-module',
      `busy=${fixture('busy-loop.mjs')}`,
      '--sink-module',
      `timer=${fixture('timer-throws.mjs')}`,
      '--sink-module',
      `unhandled=${fixture('unhandled-rejection.mjs')}`,
    ]);
    ops = opsPort(proc.stderr())!;
    expect(ops).toBeGreaterThan(0);
    metricsPort = loggedPort(proc.stderr(), 'Prometheus metrics')!;
    expect(metricsPort).toBeGreaterThan(0);
    clients = connect(proc.address);
  }, 60_000);

  afterAll(async () => {
    clients?.close();
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null)
      process.kill(-proc.child.pid!, 'SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  afterEach(() => {
    // Whatever the plug-in did, the adapter process is still there.
    expect(proc.child.exitCode).toBeNull();
    expect(proc.child.signalCode).toBeNull();
  });

  it('a plug-in that busy-loops 2 s per write holds up neither the file and stdout handlers nor /healthz', async () => {
    const before = lines(proc.stderr(), 'busy loop starts');
    const started = performance.now();
    const busy = clients.metric(metricCall('busy', 'slow.instance.istio-system'));
    await waitFor(() => lines(proc.stderr(), 'busy loop starts') > before, 10_000);
    // While the plug-in spins (2 s), the other handlers and the probe answer at
    // once: within a bound far below the loop, loose enough for a loaded machine.
    const BOUND_MS = 750;
    const probes: number[] = [];
    const waits: number[] = [];
    let n = 0;
    while (performance.now() - started < 1_500 && n < 20) {
      n++;
      const [health, stdoutMs, fileMs] = await Promise.all([
        probe(ops),
        timed(clients.metric(metricCall('stdout', `stdout${n}.instance.istio-system`))),
        timed(
          clients.metric({
            ...metricCall('', `file${n}.instance.istio-system`),
            adapter_config: paramsAny({ sink: 'file', file_path: path.join(dataDir, 'out.txt') }),
          }),
        ),
      ]);
      expect(health.status).toBe(200);
      probes.push(health.ms);
      waits.push(stdoutMs, fileMs);
    }
    const ms = (list: number[]) => list.map((w) => Math.round(w)).join(', ');
    expect(Math.max(...probes), `/healthz during the loop: ${ms(probes)} ms`).toBeLessThan(BOUND_MS);
    expect(Math.max(...waits), `stdout and file calls during the loop: ${ms(waits)} ms`).toBeLessThan(BOUND_MS);
    expect(n).toBeGreaterThan(1);
    await busy; // the loop ends within --sink-write-timeout: the call succeeds
    expect(performance.now() - started).toBeGreaterThan(1_900);
    expect(proc.stdout()).toContain('stdout1.instance.istio-system');
    expect(await readFile(path.join(dataDir, 'out.txt'), 'utf8')).toContain('file1.instance.istio-system');
  }, 30_000);

  it.each([
    [
      'timer',
      'an exception thrown from a timer',
      /sink plug-in "timer" crashed: uncaught exception: Error: timer fault in the plug-in/,
    ],
    [
      'unhandled',
      'an unhandled rejection',
      /sink plug-in "unhandled" crashed: unhandled rejection: Error: a rejection nobody handles/,
    ],
  ])(
    '%s: %s fails the call in flight naming the plug-in, is logged, and a restarted worker serves again',
    async (name, _what, crashed) => {
      const err = await rpcError(clients.metric(metricCall(name, 'boom.instance.istio-system')));
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toMatch(crashed);
      // The other handlers never noticed.
      await clients.metric(metricCall('stdout', `after-${name}.instance.istio-system`));
      await clients.metric(metricCall('busy', `after-${name}.instance.istio-system`));
      // The plug-in is back once its worker restarted; until then its calls say why they fail.
      await untilServed(
        () => clients.metric(metricCall(name, `again.instance.istio-system`)),
        new RegExp(`sink plug-in "${name}" is restarting after a fault`),
      );
      await clients.metric(metricCall(name, `again2.instance.istio-system`));
      const logged = proc
        .stderr()
        .split('\n')
        .filter(
          (l) => l.includes(`sink plug-in \\"${name}\\" crashed`) || l.includes(`sink plug-in "${name}" crashed`),
        );
      expect(logged.length, proc.stderr()).toBeGreaterThan(0);
      expect(JSON.parse(logged[0]!)).toMatchObject({ level: 'error', plugin: name, restartInMs: expect.any(Number) });
      expect(proc.stderr()).toMatch(
        new RegExp(`"plugin":"${name}".*"msg":"sink plug-in \\\\"${name}\\\\" worker restarted"`),
      );
      // Counted, by plug-in and kind.
      const kind = name === 'timer' ? 'uncaughtException' : 'unhandledRejection';
      const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(scrape).toContain(`mygrpcadapter_sink_plugin_faults_total{plugin="${name}",kind="${kind}"} 1`);
    },
    30_000,
  );
});

describe('a plug-in that keeps crashing', () => {
  it('stays failed with a clear error, and the adapter keeps serving everything else', async () => {
    const proc = await startCli([
      '0',
      '--host',
      '127.0.0.1',
      '--sink-module',
      `crashing=${fixture('crashes-always.mjs')}`,
    ]);
    const clients = connect(proc.address);
    try {
      // Between crashes its calls succeed, fail with the crash, or fail while it restarts; then it is disabled.
      const end = Date.now() + 30_000;
      for (;;) {
        const outcome = await clients.metric(metricCall('crashing')).then(
          () => 'OK',
          (err: { details: string }) => err.details,
        );
        if (/is disabled/.test(outcome)) break;
        expect(outcome).toMatch(/^OK$|sink plug-in "crashing" (crashed|is restarting after a fault)/);
        expect(Date.now()).toBeLessThan(end);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (let i = 0; i < 2; i++) {
        const err = await rpcError(clients.metric(metricCall('crashing')));
        expect(err.code).toBe(status.INTERNAL);
        expect(err.details).toMatch(
          /sink plug-in "crashing" is disabled: its worker failed 5 times within 60 s \(last: uncaught exception: Error: crashes every time\); fix the plug-in and restart the adapter/,
        );
      }
      await clients.metric(metricCall('stdout'));
      expect(proc.child.exitCode).toBeNull();
      expect(proc.stderr()).toMatch(/"level":"error".*"msg":"sink plug-in \\"crashing\\" is disabled/);
    } finally {
      clients.close();
      if (proc.child.exitCode === null && proc.child.signalCode === null) process.kill(-proc.child.pid!, 'SIGKILL');
    }
  }, 60_000);
});

describe('the worker watchdog', () => {
  it('stops a worker whose event loop stays blocked after a call timed out, and starts it again', async () => {
    let logged = '';
    const stream = new PassThrough();
    stream.on('data', (c: Buffer) => (logged += c.toString()));
    const env: SinkEnvironment = {
      ...DEFAULT_SINK_ENVIRONMENT,
      stdout: new PassThrough(),
      log: createLogger('info', stream),
    };
    const loaded = await loadSinkModule({ name: 'busy', module: fixture('busy-loop.mjs') }, 4_000, { stallMs: 500 });
    const faults: PluginFault[] = [];
    loaded.onFault((f) => faults.push(f));
    const sink = await loaded.factory({ type: 'busy', path: '', format: 'json' }, env);
    try {
      const record = (instance: string) => ({ instance }) as unknown as AdapterRecord;
      const stuck = await sink.write([record('forever.instance.istio-system')]).catch((e: unknown) => e);
      expect(stuck).toBeInstanceOf(SinkError);
      expect((stuck as SinkError).code).toBe(WRITE_DEADLINE);
      await waitFor(() => faults.length > 0, 5_000);
      expect(faults[0]).toMatchObject({ plugin: 'busy', kind: 'unresponsive', disabled: false });
      expect(faults[0]!.message).toMatch(/did not answer for 500 ms/);
      // The restarted worker takes writes again (each still spins 2 s).
      await untilServed(() => sink.write([record('quick.instance.istio-system')]), /is restarting after a fault/);
      expect(loaded.faults).toMatchObject({ faults: 1, restarts: 1, state: 'up' });
      expect(logged).toMatch(/"msg":"sink plug-in \\"busy\\" is unresponsive/);
    } finally {
      await sink.close();
    }
    // The last sink closed: the worker is gone. The next open starts another.
    expect(loaded.faults.state).toBe('stopped');
    const [again, other] = await Promise.all([
      loaded.factory({ type: 'busy', path: '', format: 'json' }, env),
      loaded.factory({ type: 'busy', path: '', format: 'text' }, env),
    ]);
    expect(loaded.faults.state).toBe('up');
    await Promise.all([again.close(), other.close()]);
    expect(loaded.faults.state).toBe('stopped');
  }, 60_000);
});

describe('a plug-in that outgrows its heap', () => {
  it('loses its worker, not the adapter: an outOfMemory fault, and the restarted worker takes writes again', async () => {
    const env: SinkEnvironment = {
      ...DEFAULT_SINK_ENVIRONMENT,
      stdout: new PassThrough(),
      log: createLogger('silent', new PassThrough()),
    };
    const loaded = await loadSinkModule({ name: 'hoarder', module: fixture('hoards-memory.mjs') }, 10_000, {
      maxHeapMb: 16,
    });
    const faults: PluginFault[] = [];
    loaded.onFault((f) => faults.push(f));
    const sink = await loaded.factory({ type: 'hoarder', path: '', format: 'json' }, env);
    try {
      const record = (instance: string) => ({ instance }) as unknown as AdapterRecord;
      const lost = await sink.write([record('hoard.instance.istio-system')]).catch((e: unknown) => e);
      expect(lost).toBeInstanceOf(SinkError);
      await waitFor(() => faults.length > 0, 10_000);
      expect(faults[0]).toMatchObject({ plugin: 'hoarder', kind: 'outOfMemory', disabled: false });
      expect(faults[0]!.message).toMatch(/ran out of its 16 MiB heap \(--sink-module-heap-bytes\)/);
      await untilServed(() => sink.write([record('small.instance.istio-system')]), /is restarting after a fault/);
      expect(loaded.faults).toMatchObject({ faults: 1, restarts: 1, state: 'up' });
    } finally {
      await sink.close();
    }
  }, 60_000);
});

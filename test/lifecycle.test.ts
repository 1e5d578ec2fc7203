// Health, reflection, shutdown, SIGHUP and rotation, backpressure and message
// limits; start-up and shutdown as one ordered list of steps.
import { mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../src/lifecycle/lifecycle.js';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { connect, paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { startCli, type CliProcess } from './helpers/cli.js';
import { healthCheck, listServices } from './helpers/ops-clients.js';
import { int, str } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

let dir: string;
let proc: CliProcess | undefined;
let adapter: TestAdapter | undefined;

beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'lifecycle-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) process.kill(-proc.child.pid!, 'SIGKILL');
  proc = undefined;
  await adapter?.stop();
  adapter = undefined;
});

describe('health and reflection', () => {
  it('reports SERVING for the server and each handle service, NOT_SERVING while draining', async () => {
    adapter = await startTestAdapter({ drainDelayMs: 400 });
    const address = `127.0.0.1:${adapter.adapter.port}`;
    for (const service of ['', 'metric.HandleMetricService', 'authorization.HandleAuthorizationService']) {
      expect(await healthCheck(address, service)).toBe('SERVING');
    }
    const stopping = adapter.adapter.stop();
    expect(await healthCheck(address, '')).toBe('NOT_SERVING');
    expect(await healthCheck(address, 'metric.HandleMetricService')).toBe('NOT_SERVING');
    // Still answering calls during the drain delay.
    await adapter.clients.metric({ instances: [{ name: 'late', value: int(1) }] });
    await stopping;
    expect(adapter.stdout()).toContain("Instances: 'late'");
  });

  it('answers NOT_FOUND for an unknown service name', async () => {
    adapter = await startTestAdapter();
    const err = await rpcError(healthCheck(`127.0.0.1:${adapter.adapter.port}`, 'nope.Service'));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it('lists the handle services through server reflection', async () => {
    adapter = await startTestAdapter();
    const services = await listServices(`127.0.0.1:${adapter.adapter.port}`);
    expect(services).toEqual(
      expect.arrayContaining(['metric.HandleMetricService', 'authorization.HandleAuthorizationService']),
    );
  });
});

describe('SIGTERM', () => {
  it('drains: every call answered OK has its record in the file, and the exit code is 0', async () => {
    proc = await startCli([
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dir,
      '--drain-delay',
      '200',
      '--log-level',
      'warn',
    ]);
    const clients = connect(proc.address);
    const acknowledged: string[] = [];
    let refused = 0;
    let n = 0;
    let signalled = false;
    const worker = async (): Promise<void> => {
      while (!signalled || n < 2000) {
        const name = `call-${n++}`;
        try {
          await clients.metric({
            instances: [{ name, value: int(n) }],
            adapter_config: paramsAny({ file_path: 'drain.txt' }),
          });
          acknowledged.push(name);
        } catch {
          refused++;
          if (signalled) return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, () => worker());
    await new Promise((r) => setTimeout(r, 300));
    process.kill(proc.child.pid!, 'SIGTERM');
    signalled = true;
    await Promise.all(workers);
    clients.close();
    expect(await proc.exited).toBe(0);
    const text = await readFile(path.join(dir, 'drain.txt'), 'utf8');
    expect(acknowledged.length).toBeGreaterThan(50);
    for (const name of acknowledged) expect(text).toContain(`Instances: '${name}':`);
    expect(text.match(/HandleMetric invoked with:/g)).toHaveLength(acknowledged.length);
    expect(refused).toBeGreaterThanOrEqual(1);
  });

  it('kills itself with a log line when shutdown passes its deadline, even with a write stuck', async () => {
    const flags = ['--decode-workers', '0', '--shutdown-grace', '100', '--shutdown-timeout', '800'];
    proc = await startCli(['0', '--host', '127.0.0.1', ...flags]);
    // Nobody reads the adapter's stdout any more: once the pipe is full, the
    // stdout sink's write never completes, and neither can its flush on shutdown.
    proc.child.stdout.pause();
    const clients = connect(proc.address);
    const stuck = clients.metric({
      instances: [{ name: 'x', value: str('y'.repeat(2 * 1024 * 1024)) }],
      adapter_config: paramsAny({}),
    });
    stuck.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(proc.child.pid!, 'SIGTERM');
    expect(await proc.exited).toBeNull();
    expect(proc.child.signalCode).toBe('SIGKILL');
    clients.close();
    expect(proc.stderr()).toContain('shutdown deadline passed');
  });
});

describe('file rotation', () => {
  it('SIGHUP reopens file sinks so logrotate can move the file away', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'info']);
    const clients = connect(proc.address);
    const call = (name: string) =>
      clients.metric({ instances: [{ name, value: int(1) }], adapter_config: paramsAny({ file_path: 'hup.txt' }) });
    await call('before');
    await rename(path.join(dir, 'hup.txt'), path.join(dir, 'hup.txt.1'));
    const p = proc;
    process.kill(p.child.pid!, 'SIGHUP');
    const end = Date.now() + 5000;
    while (!p.stderr().includes('sinks reopened') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await call('after');
    clients.close();
    expect(await readFile(path.join(dir, 'hup.txt.1'), 'utf8')).toContain("'before'");
    const fresh = await readFile(path.join(dir, 'hup.txt'), 'utf8');
    expect(fresh).toContain("'after'");
    expect(fresh).not.toContain("'before'");
  });

  it('rotates by size, keeping N files and every record', async () => {
    const sub = await mkdtemp(path.join(dir, 'rot-'));
    // About two records (each ~420 bytes of JSON) per file.
    const rotateBytes = 1000;
    adapter = await startTestAdapter({ dataDir: sub, rotateBytes, rotateKeep: 3, format: 'json' });
    for (let i = 0; i < 12; i++) {
      await adapter.clients.metric({
        instances: [{ name: `r${i}`, value: int(i) }],
        adapter_config: paramsAny({ file_path: 'rot.jsonl' }),
      });
    }
    const files = (await readdir(sub)).sort();
    // Rotated files are numbered in the order they were made; the three newest remain.
    expect(files).toHaveLength(4);
    expect(files[0]).toBe('rot.jsonl');
    const numbers = files.slice(1).map((f) => Number(f.slice('rot.jsonl.'.length)));
    expect(numbers.sort((a, b) => a - b)).toEqual([numbers[0]!, numbers[0]! + 1, numbers[0]! + 2]);
    const kept = (await Promise.all(files.map((f) => readFile(path.join(sub, f), 'utf8')))).join('');
    const lines = kept.trimEnd().split('\n');
    for (const f of files) expect((await readFile(path.join(sub, f))).length).toBeLessThanOrEqual(rotateBytes);
    // The newest records are all kept; only files beyond rotateKeep are gone.
    expect(lines.map((l) => (JSON.parse(l) as { instance: string }).instance)).toContain('r11');
  });
});

describe('backpressure', () => {
  it('refuses with RESOURCE_EXHAUSTED after waiting, never drops, and counts refusals', async () => {
    const control = memorySinkControl();
    control.delayMs = 150;
    let sink: MemorySink | undefined;
    adapter = await startTestAdapter(
      { sinkBufferBytes: 600, sinkWaitMs: 50 },
      {
        memory: (_spec, env) => {
          sink = new MemorySink(control, env.buffer);
          return Promise.resolve(sink);
        },
      },
    );
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        adapter!.clients.metric({
          instances: [{ name: `b${i}`, value: str('x'.repeat(100)) }],
          adapter_config: paramsAny({ sink: 'memory' }),
        }),
      ),
    );
    const ok = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`b${i}`] : []));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason as ServiceError);
    expect(ok.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const err of refused) {
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/sink buffer full \(\d+ of 300 bytes queued, \d+ of 600 over all sinks\) for 50 ms/);
    }
    await adapter.adapter.stop();
    expect(control.records.map((r) => r.instance).sort()).toEqual(ok.sort());
    expect(sink!.counters.refusedChunks).toBe(refused.length);
    expect(adapter.logs()).toContain('"code":8');
  });

  it('answers UNAVAILABLE when the sink fails, and recovers when it works again', async () => {
    const control = memorySinkControl();
    control.failWith = 'ENOSPC';
    adapter = await startTestAdapter({}, { memory: (_s, env) => Promise.resolve(new MemorySink(control, env.buffer)) });
    const req = { instances: [{ name: 'f', value: int(1) }], adapter_config: paramsAny({ sink: 'memory' }) };
    const err = await rpcError(adapter.clients.metric(req));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('ENOSPC');
    control.failWith = undefined;
    await adapter.clients.metric(req);
    expect(control.records).toHaveLength(1);
  });

  it('writes with --fsync batch and interval', async () => {
    for (const fsync of ['batch', 'interval'] as const) {
      const sub = await mkdtemp(path.join(dir, `fsync-${fsync}-`));
      const a = await startTestAdapter({ dataDir: sub, fsync, fsyncIntervalMs: 10 });
      await a.clients.metric({
        instances: [{ name: fsync, value: int(1) }],
        adapter_config: paramsAny({ file_path: 'f.txt' }),
      });
      await new Promise((r) => setTimeout(r, 30));
      await a.stop();
      expect(await readFile(path.join(sub, 'f.txt'), 'utf8')).toContain(`'${fsync}'`);
    }
  });
});

describe('message size', () => {
  it('refuses a request over --max-message-bytes with RESOURCE_EXHAUSTED', async () => {
    adapter = await startTestAdapter({ maxMessageBytes: 4096 });
    const err = await rpcError(adapter.clients.metric({ instances: [{ name: 'big', value: str('x'.repeat(5000)) }] }));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    await adapter.clients.metric({ instances: [{ name: 'small', value: int(1) }] });
  });
});

describe('start-up and shutdown: one ordered list of steps', () => {
  /** Steps 1..n that record what ran; step `failAt` throws from its start. */
  async function run(n: number, failAt: number | undefined) {
    const events: string[] = [];
    const life = new Lifecycle(pino({ level: 'silent' }));
    const failure = new Error('step failed');
    let started: unknown;
    try {
      for (let i = 1; i <= n; i++) {
        await life.step(
          `s${i}`,
          async () => {
            await new Promise((r) => setImmediate(r));
            if (i === failAt) throw failure;
            events.push(`start s${i}`);
            return i;
          },
          (value) => events.push(`stop s${value}`),
        );
      }
      started = 'all';
    } catch (err) {
      started = err;
    }
    return { events, life, started, failure };
  }

  it.each([1, 2, 3, 4, 5])('a failure at step %i stops steps k-1..1 in reverse and rethrows', async (k) => {
    const { events, started, failure, life } = await run(5, k);
    expect(started).toBe(failure);
    const before = Array.from({ length: k - 1 }, (_, i) => `s${i + 1}`);
    expect(events).toEqual([...before.map((s) => `start ${s}`), ...before.reverse().map((s) => `stop ${s}`)]);
    // Nothing left for stop() to stop twice.
    await life.stop();
    expect(events).toHaveLength(2 * (k - 1));
  });

  it('stop() stops every started step in reverse, once however often it is called', async () => {
    const { events, life, started } = await run(4, undefined);
    expect(started).toBe('all');
    expect(life.startedSteps).toEqual(['s1', 's2', 's3', 's4']);
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    expect(events.slice(4)).toEqual(['stop s4', 'stop s3', 'stop s2', 'stop s1']);
  });

  it('a stop that fails does not keep the steps before it running; stop() rejects with it', async () => {
    const events: string[] = [];
    const life = new Lifecycle(pino({ level: 'silent' }));
    await life.step(
      'a',
      () => undefined,
      () => events.push('stop a'),
    );
    await life.step(
      'b',
      () => undefined,
      () => Promise.reject(new Error('b would not stop')),
    );
    await life.step(
      'c',
      () => undefined,
      () => events.push('stop c'),
    );
    await expect(life.stop()).rejects.toThrow('b would not stop');
    expect(events).toEqual(['stop c', 'stop a']);
  });

  it('the adapter: stop() stops every step start-up started, newest first', async () => {
    const sub = await mkdtemp(path.join(dir, 'steps-'));
    adapter = await startTestAdapter({
      dataDir: sub,
      decodeWorkers: 1,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      opsPort: 0,
      opsHost: '127.0.0.1',
      prometheusPort: 0,
      prometheusHost: '127.0.0.1',
      record: path.join(sub, 'calls.jsonl'),
    });
    await adapter.stop();
    const steps = (msg: string) =>
      adapter!
        .logs()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; step?: string })
        .filter((l) => l.msg === msg)
        .map((l) => l.step);
    const started = steps('step started');
    // The start order; shutdown is its reverse: serving ends, the server
    // drains, ..., the ops listener (/readyz answering 503) goes last.
    expect(started).toEqual([
      'data dir',
      'repeat log',
      'security',
      'ops and metrics listeners',
      'prometheus sink series',
      'sink health',
      'sinks',
      'handler table',
      'decode workers',
      'call recorder',
      // Started (and stopped) even without --operator-config: it then opens nothing.
      'key sets',
      'operator config',
      'gRPC server',
      'serving',
    ]);
    expect(steps('step stopped')).toEqual([...started].reverse());
    adapter = undefined;
  });
});

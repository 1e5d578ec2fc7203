// Sink plug-ins (--sink-module): the example plug-in loaded by path into the
// built adapter, fixtures that break the contract at run time (each call gets
// a clear status and the adapter keeps serving), and modules that must stop
// the start with a message naming the flag.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, runBin, startCli, type CliProcess } from './helpers/cli.js';
import { int, str } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

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

// `mygrpcadapter mixer check|report --envoy`: the built CLI as a child
// process sending what Envoy would send, the real adapter in-process on
// 127.0.0.1 with the sample operator config (--operator-config), plain
// loopback gRPC between them.
import { readFileSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAdapter } from '../src/main.js';
import { startQuietAdapter, startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { runBin } from './helpers/cli.js';
import { alsLacking } from './helpers/envoy-als.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { tempDir } from './helpers/opconfig.js';
import { skipUnless } from './helpers/peers.js';
import { waitFor } from './helpers/wait.js';

let dir: string;
let out: string;
let t: TestAdapter;
/** An adapter without --operator-config: no Envoy front-ends. */
let plain: RunningAdapter;
let als: string | undefined;

beforeAll(async () => {
  dir = await tempDir('envoy-cli-');
  const sample = await sampleOperatorConfig(dir);
  out = sample.out;
  t = await startTestAdapter({ dataDir: dir, operatorConfig: [sample.folder] });
  plain = await startQuietAdapter(dir);
  als = await alsLacking(t.adapter.address);
});

afterAll(async () => {
  await t?.stop();
  await plain?.stop();
  await rm(dir, { recursive: true, force: true });
});

const TOKEN = (token: string) => ['--stringmap_attributes', `request.headers=x-custom-token:${token}`];
const check = (...args: string[]) => runBin(['mixer', 'check', '--address', t.adapter.address, ...args]);
const report = (...args: string[]) => runBin(['mixer', 'report', '--address', t.adapter.address, ...args]);

const DENIED =
  'Check RPC completed successfully. Check status was PERMISSION_DENIED (h1.handler.istio-system:Unauthorized...)\n' +
  '  Denied response: HTTP 403 (Forbidden)\n';

describe('mixer check --envoy', () => {
  it('allows the handler key: mixc first line, then the OK response', async () => {
    const r = await check('--envoy', 'v3', ...TOKEN('abc'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Check RPC completed successfully. Check status was OK\n  OK response\n');
    expect(r.code).toBe(0);
  });

  it.each(['v3', 'v2', 'v2alpha'])(
    'denies a wrong key on %s with the HTTP status; exit 0, or 1 with --fail-on-deny',
    async (v) => {
      const r = await check('--envoy', v, ...TOKEN('nope'));
      expect(r.stdout).toBe(DENIED);
      expect(r.code).toBe(0);
      const strict = await check('--envoy', v, ...TOKEN('nope'), '--fail-on-deny');
      expect(strict.stdout).toBe(DENIED);
      expect(strict.code).toBe(1);
    },
  );

  it('prints the request sent and the decoded CheckResponse with --json', async () => {
    const r = await check('--envoy', 'v2', ...TOKEN('nope'), '-s', 'request.path=/x', '--json');
    expect(r.code).toBe(0);
    const [result] = JSON.parse(r.stdout).results;
    expect(result).toMatchObject({
      kind: 'envoy-check',
      path: '/envoy.service.auth.v2.Authorization/Check',
      address: t.adapter.address,
      request: { attributes: { request: { http: { path: '/x', headers: { 'x-custom-token': 'nope' } } } } },
      notSent: [],
      rpcError: null,
      status: { code: 7, name: 'PERMISSION_DENIED', message: 'h1.handler.istio-system:Unauthorized...' },
      response: { denied_response: { status: { code: 'Forbidden' } } },
    });
  });

  it('says which attributes a CheckRequest cannot carry, and still checks', async () => {
    const r = await check('--envoy', 'v3', ...TOKEN('abc'), '-i', 'request.size=5', '-s', 'destination.service=x');
    expect(r.stdout).toContain('Check status was OK');
    expect(r.stderr).toBe(
      'note: not sent as given (a CheckRequest has no field for them, or none of their type): destination.service, request.size\n',
    );
    expect(r.code).toBe(0);
  });

  it('runs one check per set of an attributes file, and a quick load with --repeat', async () => {
    const sets = path.join(dir, 'sets.json');
    await writeFile(sets, JSON.stringify([{ 'request.headers': { 'x-custom-token': 'abc' } }, {}]));
    const r = await check('--envoy', 'v3', '--attributes-file', sets);
    expect(r.stdout).toBe(
      'Check RPC completed successfully. Check status was OK\n  OK response\n' +
        'Check RPC completed successfully. Check status was PERMISSION_DENIED (h1.handler.istio-system:Unauthorized...)\n' +
        '  Denied response: HTTP 403 (Forbidden)\n',
    );
    const load = await check('--envoy', 'v3', ...TOKEN('abc'), '--repeat', '20', '-c', '4');
    expect(load.stdout).toMatch(/^20 calls in .*, 0 errors$/m);
    expect(load.stdout).toMatch(/^outcomes: OK: 20$/m);
    expect(load.code).toBe(0);
  });

  it('exits 1 with the gRPC error and a hint when the adapter serves no Envoy front-end', async () => {
    const r = await runBin(['mixer', 'check', '--envoy', 'v3', '--address', plain.address, ...TOKEN('abc')]);
    expect(r.stdout).toMatch(/^Check RPC failed with: Unimplemented \(.*\)\n$/);
    expect(r.stderr).toContain('is it started with --operator-config PATH');
    expect(r.code).toBe(1);
  });
});

describe('mixer report --envoy', () => {
  it('streams one message with the sets as entries and prints the final status (no access-log service: Unimplemented, exit 1)', async () => {
    const r = await runBin(['mixer', 'report', '--envoy', 'v3', '--address', plain.address, '-i', 'request.size=5']);
    expect(r.stdout).toBe(
      'Sent 1 StreamAccessLogsMessage on /envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs: identifier (log_name http_envoy_accesslog), 1 HTTP entry\n' +
        'StreamAccessLogs returned Unimplemented (The server does not implement the method /envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs)\n',
    );
    expect(r.code).toBe(1);
  });

  it.for(['v3', 'v2'])(
    'reports --report_batch_size entries on %s: OK, and one metric block with every instance in out.txt',
    async (v, ctx) => {
      skipUnless(als, ctx);
      const before = (await stat(out).catch(() => ({ size: 0 }))).size;
      const r = await report('--envoy', v, '-i', 'request.size=1235,response.code=200', '--report_batch_size', '3');
      expect(r.stdout).toBe(
        `Sent 1 StreamAccessLogsMessage on /envoy.service.accesslog.${v}.AccessLogService/StreamAccessLogs: identifier (log_name http_envoy_accesslog), 3 HTTP entries\n` +
          'StreamAccessLogs returned OK\n',
      );
      expect(r.code).toBe(0);
      const appended = () => readFileSync(out).subarray(before).toString();
      // The stream's status need not wait for the records: wait for them.
      await waitFor(() => appended().split("'i1metric.instance.istio-system'").length === 4);
      expect(appended().match(/HandleMetric invoked with/g)).toHaveLength(1);
      expect(appended().match(/Value = 1235\n/g)).toHaveLength(3);
    },
  );

  it('puts TCP sets (context.protocol tcp) on a stream of their own', async () => {
    const r = await runBin([
      'mixer',
      'report',
      '--envoy',
      'v2',
      '--address',
      plain.address,
      '-s',
      'context.protocol=tcp',
      '--json',
    ]);
    const [result] = JSON.parse(r.stdout).results;
    expect(result.streams).toHaveLength(1);
    expect(result.streams[0]).toMatchObject({
      path: '/envoy.service.accesslog.v2.AccessLogService/StreamAccessLogs',
      logKind: 'tcp',
      entries: 1,
      message: { identifier: { log_name: 'tcp_envoy_accesslog' }, tcp_logs: { log_entry: [{}] } },
      status: { name: 'UNIMPLEMENTED' },
    });
  });
});

describe('mixer --envoy flags', () => {
  it.each([
    [['check', '--envoy', 'v3'], "--envoy needs --address host:port, the adapter's gRPC port"],
    [
      ['report', '--envoy', 'v2alpha', '--address', '127.0.0.1:1'],
      '--envoy v2alpha: the access-log service has v3 and v2 only',
    ],
    [
      ['check', '--envoy', 'v3', '--address', '127.0.0.1:1', '--record', 'x.jsonl'],
      '--record keeps Mixer handle calls',
    ],
    [['check', '--envoy', 'v4', '--address', '127.0.0.1:1'], 'Invalid values'],
  ])('refuses %j', async (args, message) => {
    const r = await runBin(['mixer', ...args]);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
  });
});

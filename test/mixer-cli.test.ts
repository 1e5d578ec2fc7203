// End to end: the built CLI as a child process acting as Mixer, the real
// adapter in-process on 127.0.0.1, plain loopback gRPC between them.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAdapter } from '../src/main.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { runBin } from './helpers/cli.js';
import { tempDir, writeOpConfig } from './helpers/opconfig.js';

let adapter: RunningAdapter;
let work: string;

beforeAll(async () => {
  work = await tempDir();
  adapter = await startQuietAdapter(work);
});

/** The sample operator config in a folder of its own below `work` (removed with it). */
const opConfig = async (flow: 'metric' | 'authorization', fill: { address: string; filePath: string }) =>
  writeOpConfig(flow, fill, await tempDir('config-', work));

afterAll(async () => {
  await adapter.stop();
  await rm(work, { recursive: true, force: true });
});

async function editOperator(dir: string, from: string | RegExp, to: string): Promise<void> {
  const file = path.join(dir, 'operator.yaml');
  const text = await readFile(file, 'utf8');
  const edited = text.replace(from, to);
  if (edited === text) throw new Error(`fixture edit did not apply: ${String(from)}`);
  await writeFile(file, edited);
}

describe('mixer report (metric walkthrough)', () => {
  it('writes the walkthrough block for -s destination.service=... -i request.size=1235', async () => {
    const out = path.join(work, 'out.txt');
    const dir = await opConfig('metric', { address: adapter.address, filePath: out });
    const r = await runBin([
      'mixer',
      'report',
      '--config',
      dir,
      '-s',
      'destination.service=svc.cluster.local',
      '-i',
      'request.size=1235',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Report RPC returned OK\n');
    expect(r.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(
      'HandleMetric invoked with:\n' +
        `  Adapter config: &Params{FilePath:${out},}\n` +
        "  Instances: 'i1metric.instance.istio-system':\n" +
        '  {\n' +
        '\t\tValue = 1235\n' +
        '\t\tDimensions = map[response_code:200]\n' +
        '  }\n',
    );
  });

  it('takes -a attributes typed by the manifest', async () => {
    const out = path.join(work, 'untyped.txt');
    const dir = await opConfig('metric', { address: adapter.address, filePath: out });
    const r = await runBin(['mixer', 'report', '--config', dir, '-a', 'request.size=42,destination.service=x']);
    expect(r.stdout).toBe('Report RPC returned OK\n');
    expect(await readFile(out, 'utf8')).toContain('Value = 42\n');
  });

  it('uses the `| 0` fallback when request.size is missing, and batches attribute sets into one call', async () => {
    const out = path.join(work, 'batch.txt');
    const dir = await opConfig('metric', { address: adapter.address, filePath: out });
    const sets = path.join(dir, 'sets.json');
    await writeFile(sets, JSON.stringify([{ 'request.size': 7 }, { 'destination.service': 'x' }]));
    const r = await runBin(['mixer', 'report', '--config', dir, '--attributes-file', sets, '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.results[0].code).toBe('OK');
    expect(json.results[0].calls).toHaveLength(1);
    expect(json.results[0].calls[0]).toMatchObject({
      handler: 'h1.handler.istio-system',
      method: '/metric.HandleMetricService/HandleMetric',
      dedupId: expect.stringMatching(/^\d{1,20}$/),
      instances: ['i1metric.instance.istio-system', 'i1metric.instance.istio-system'],
      codeName: 'OK',
    });
    const text = await readFile(out, 'utf8');
    expect(text).toContain('Value = 7\n');
    expect(text).toContain('Value = 0\n');
  });

  it('skips an instance whose attribute is missing and reports the error like Mixer', async () => {
    const out = path.join(work, 'skipped.txt');
    const dir = await opConfig('metric', { address: adapter.address, filePath: out });
    await editOperator(dir, 'value: request.size | 0', 'value: request.size');
    const r = await runBin(['mixer', 'report', '--config', dir]);
    expect(r.stdout).toBe(
      "Report RPC returned Unknown (1 error occurred:\n\t* fieldEncoder: value - lookup failed: 'request.size'\n\n)\n",
    );
    expect(r.code).toBe(1);
    await expect(readFile(out, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('calls nobody when the rule match is false, and does when it is true', async () => {
    const out = path.join(work, 'matched.txt');
    const dir = await opConfig('metric', { address: adapter.address, filePath: out });
    await editOperator(
      dir,
      'spec:\n  actions:',
      'spec:\n  match: match(destination.service, "*.cluster.local")\n  actions:',
    );
    const miss = await runBin(['mixer', 'report', '--config', dir, '-s', 'destination.service=other', '--json']);
    expect(JSON.parse(miss.stdout).results[0].calls).toEqual([]);
    const hit = await runBin(['mixer', 'report', '--config', dir, '-s', 'destination.service=a.cluster.local']);
    expect(hit.stdout).toBe('Report RPC returned OK\n');
    expect(await readFile(out, 'utf8')).toContain('Value = 0\n');
  });

  it('runs a small load and prints a summary', async () => {
    const dir = await opConfig('metric', { address: adapter.address, filePath: path.join(work, 'load.txt') });
    const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1', '--repeat', '20', '-c', '4']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Report RPC returned OK\n20 calls in [\d.]+s \([\d.]+ per second\), 0 errors\n/);
    expect(r.stdout).toMatch(/latency ms: p50 [\d.]+, p99 [\d.]+, max [\d.]+\noutcomes: OK: 20\n$/);
    expect((await readFile(path.join(work, 'load.txt'), 'utf8')).match(/HandleMetric invoked/g)).toHaveLength(20);
  });
  it('honours connection.timeout as the call deadline', async () => {
    // Accepts TCP connections and never answers, so only the deadline ends the call.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const dir = await opConfig('metric', { address: adapter.address, filePath: path.join(work, 'slow.txt') });
      await editOperator(dir, "timeout: '5s'", "timeout: '0.3s'");
      const port = (silent.address() as AddressInfo).port;
      const started = Date.now();
      const r = await runBin(['mixer', 'report', '--config', dir, '--address', `127.0.0.1:${port}`]);
      expect(r.stdout).toMatch(
        /^Report RPC returned Unknown \(1 error occurred:\n\t\* rpc error: code = DeadlineExceeded desc = /,
      );
      expect(r.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('mixer check (authorization walkthrough)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await opConfig('authorization', { address: adapter.address, filePath: path.join(work, 'auth.txt') });
  });

  it('allows the right token with Mixer’s default validity', async () => {
    const r = await runBin([
      'mixer',
      'check',
      '--config',
      dir,
      '--stringmap_attributes',
      'request.headers=x-custom-token:abc',
    ]);
    expect(r.stdout).toBe(
      'Check RPC completed successfully. Check status was OK\n  Valid use count: 10000, valid duration: 1m0s\n',
    );
    expect(r.code).toBe(0);
  });

  it('denies another token, prefixing the handler name', async () => {
    const r = await runBin([
      'mixer',
      'check',
      '--config',
      dir,
      '--stringmap_attributes',
      'request.headers=x-custom-token:abd',
    ]);
    expect(r.stdout).toBe(
      'Check RPC completed successfully. Check status was PERMISSION_DENIED (h1.handler.istio-system:Unauthorized...)\n' +
        '  Valid use count: 0, valid duration: 0s\n',
    );
    expect(r.code).toBe(0);
    const strict = await runBin(['mixer', 'check', '--config', dir, '--fail-on-deny']);
    expect(strict.code).toBe(1);
  });

  it('denies a request without the header through the `| ""` fallback', async () => {
    const r = await runBin(['mixer', 'check', '--config', dir, '--json']);
    const result = JSON.parse(r.stdout).results[0];
    expect(result.status).toEqual({
      code: 7,
      name: 'PERMISSION_DENIED',
      message: 'h1.handler.istio-system:Unauthorized...',
    });
    expect(result.calls[0].instances).toEqual(['icheck.instance.istio-system']);
    expect(r.code).toBe(0);
  });

  it('fails the check without calling the adapter when the header is missing and there is no fallback', async () => {
    const strictDir = await opConfig('authorization', {
      address: adapter.address,
      filePath: path.join(work, 'a2.txt'),
    });
    await editOperator(strictDir, ' | ""', '');
    const r = await runBin([
      'mixer',
      'check',
      '--config',
      strictDir,
      '--stringmap_attributes',
      'request.headers=other:1',
    ]);
    expect(r.stdout).toBe(
      'Check RPC failed with: Internal (performing check operation failed: 1 error occurred:\n' +
        `\t* fieldEncoder: subject - fieldEncoder: properties - fieldEncoder: value - lookup failed: 'request.headers["x-custom-token"]'\n\n)\n`,
    );
    expect(r.code).toBe(1);
    await expect(readFile(path.join(work, 'a2.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('reports an unreachable handler as Mixer does (INTERNAL)', async () => {
    const r = await runBin(['mixer', 'check', '--config', dir, '--address', '127.0.0.1:1']);
    expect(r.stdout).toMatch(
      /^Check RPC failed with: Internal \(performing check operation failed: 1 error occurred:\n\t\* rpc error: code = Unavailable desc = /,
    );
    expect(r.code).toBe(1);
  });

  it.each([
    ['masked', [], '***'],
    ['kept', ['--record-secrets'], 'abc'],
  ])('records what it sends with --record, secrets %s', async (secrets, flags, token) => {
    const file = path.join(work, `standin-${secrets}.jsonl`);
    await runBin([
      'mixer',
      'check',
      '--config',
      dir,
      '--stringmap_attributes',
      'request.headers=x-custom-token:abc',
      '--record',
      file,
      ...flags,
    ]);
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      method: '/authorization.HandleAuthorizationService/HandleAuthorization',
      secrets,
      status: { code: 0, name: 'OK' },
      view: {
        instance: {
          name: 'icheck.instance.istio-system',
          subject: { properties: { custom_token_header: { string_value: token } } },
        },
        adapter_config: { type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params' },
        dedup_id: expect.stringMatching(/^\d{1,20}$/),
      },
    });
    if (secrets === 'masked') expect(lines[0]?.masked).toEqual(['custom_token_header', 'auth_key']);
    else expect(lines[0]).not.toHaveProperty('masked');
    expect(typeof lines[0]?.request).toBe('string');
    expect(typeof lines[0]?.response).toBe('string');
  });
});

describe('config and attribute errors', () => {
  it.each([
    [
      'value: request.size | 0',
      'value: request.size > 0',
      'params.value: expression "request.size > 0": operator ">" is not supported',
    ],
    ['value: request.size | 0', 'value: size(request.path)', 'function size() is not supported'],
    [
      'value: request.size | 0',
      'value: request.size | ""',
      'both sides of "|" must have the same type, got INT64 and STRING (at column 14)',
    ],
    ['value: request.size | 0', 'value: request.headers', 'is STRING_MAP, which cannot fill a Value'],
    [
      'value: request.size | 0',
      'value: nope.size',
      'unknown attribute nope.size (not in the attribute manifest) (at column 1)',
    ],
    ['value: request.size | 0', 'valu: request.size', 'params.valu: unknown field'],
    [
      'spec:\n  actions:',
      'spec:\n  match: request.size >= 3\n  actions:',
      'rule r1: match: expression "request.size >= 3": operator ">=" is not supported',
    ],
    ['file_path:', 'filepath:', 'handler h1: params.filepath: unknown field'],
    ["timeout: '5s'", "timeout: '5 seconds'", 'spec.connection.timeout: expected a duration such as "5s"'],
  ])('%s -> %s', async (from, to, message) => {
    const dir = await opConfig('metric', { address: adapter.address, filePath: path.join(work, 'never.txt') });
    await editOperator(dir, from, to);
    const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/operator\.yaml:\d+ \(document \d\)/);
  });

  it('fails like mixc + Mixer when -a guesses a type the manifest does not have', async () => {
    const dir = await opConfig('metric', { address: adapter.address, filePath: path.join(work, 'never.txt') });
    await editOperator(dir, "response_code: '200'", 'response_code: \'200\'\n      src: source.ip | ip("0.0.0.0")');
    const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1', '-a', 'source.ip=1.2.3.4']);
    expect(r.code).toBe(1);
    // realmixer's line for the same config and flags.
    expect(r.stdout).toBe(
      'Report RPC returned Unknown (1 error occurred:\n' +
        '\t* fieldEncoder: dimensions - fieldEncoder: value - incorrect type for IP_ADDRESS. got: string, want: []byte\n\n)\n',
    );
  });

  it('names a --config path that does not exist', async () => {
    const r = await runBin(['mixer', 'report', '--config', 'operatorconfig/'], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mygrpcadapter: --config operatorconfig\/: ENOENT/);
  });

  it("defaults to the package's own operatorconfig/, from any folder", async () => {
    // --address keeps the sample handler's in-cluster name from being resolved.
    const r = await runBin(['mixer', 'report', '--address', '127.0.0.1:1', '-i', 'request.size=1'], work);
    // It found the sample's handler and rule, and dialled the handler (nothing listens there).
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(r.stdout).toMatch(/^Report RPC returned Unknown/);
    expect(r.stdout).toContain('ECONNREFUSED 127.0.0.1:1');
  });

  it('says where the manifest is missing', async () => {
    const dir = await opConfig('metric', { address: adapter.address, filePath: path.join(work, 'never.txt') });
    const r = await runBin([
      'mixer',
      'report',
      '--config',
      path.join(dir, 'operator.yaml'),
      path.join(dir, 'adapter.yaml'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no attributes declared: add a kind: attributemanifest resource');
  });
});

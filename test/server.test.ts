// The adapter over a real loopback gRPC connection, as Mixer would call it.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceMsg } from '../src/generated/metric/InstanceMsg.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { bool, dbl, dns, dur, email, int, ip, smap, str, ts, uri } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

let t: TestAdapter;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mygrpcadapter-'));
  t = await startTestAdapter({ dataDir: dir });
});

afterAll(async () => {
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

function mixedInstance(i: number): InstanceMsg {
  const values = [
    str(`s${i}`),
    int(i),
    dbl(i + 0.5),
    bool(i % 2 === 0),
    ip([10, 0, i % 256, 1]),
    ts(1_700_000_000 + i),
    dur(i, 0),
    email(`u${i}@example.com`),
    dns(`h${i}.example.com`),
    uri(`http://h/${i}`),
  ];
  return {
    name: `i${i}.instance.istio-system`,
    value: values[i % values.length],
    dimensions: { n: int(i), kind: values[(i + 3) % values.length]!, tags: smap({ k: String(i) }) },
  };
}

describe('HandleMetric', () => {
  it("writes the walkthrough's block for one instance to file_path", async () => {
    await t.clients.metric({
      instances: [
        { name: 'i1metric.instance.istio-system', value: int(1235), dimensions: { response_code: int(200) } },
      ],
      adapter_config: paramsAny({ file_path: 'out.txt' }),
      dedup_id: '1',
    });
    expect(await readFile(path.join(dir, 'out.txt'), 'utf8')).toBe(
      "HandleMetric invoked with:\n  Adapter config: &Params{FilePath:out.txt,}\n  Instances: 'i1metric.instance.istio-system':\n  {\n\t\tValue = 1235\n\t\tDimensions = map[response_code:200]\n  }\n",
    );
  });

  it('appends, never overwrites', async () => {
    const file = path.join(dir, 'append.txt');
    await writeFile(file, 'existing line\n');
    const req = { instances: [{ name: 'a', value: int(1) }], adapter_config: paramsAny({ file_path: 'append.txt' }) };
    await t.clients.metric(req);
    await t.clients.metric(req);
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('existing line\nHandleMetric invoked with:')).toBe(true);
    expect(text.split('HandleMetric invoked with:')).toHaveLength(3);
  });

  it('writes 100 instances of mixed value kinds in one block', async () => {
    const instances = Array.from({ length: 100 }, (_, i) => mixedInstance(i));
    await t.clients.metric({ instances, adapter_config: paramsAny({ file_path: 'mixed.txt' }), dedup_id: '2' });
    const text = await readFile(path.join(dir, 'mixed.txt'), 'utf8');
    expect(text.match(/HandleMetric invoked with:/g)).toHaveLength(1);
    expect(text.match(/\t\tValue = /g)).toHaveLength(100);
    expect(text).toContain("'i4.instance.istio-system':\n  {\n\t\tValue = 10.0.4.1\n");
    expect(text).toContain("'i2.instance.istio-system':\n  {\n\t\tValue = 2.5\n");
    expect(text).toContain("'i6.instance.istio-system':\n  {\n\t\tValue = 6s\n");
    expect(text).toContain('Dimensions = map[kind:2023-11-14T22:13:22Z n:2 tags:map[k:2]]');
  });

  it('writes JSON lines, one per instance, when Params ask for json', async () => {
    const instances = Array.from({ length: 100 }, (_, i) => mixedInstance(i));
    await t.clients.metric({ instances, adapter_config: paramsAny({ file_path: 'mixed.jsonl', format: 'json' }) });
    const lines = (await readFile(path.join(dir, 'mixed.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(100);
    const records = lines.map((l) => JSON.parse(l) as { value: unknown; dimensions: Record<string, unknown> });
    expect(records[1]).toMatchObject({ instance: 'i1.instance.istio-system', value: 1, types: { value: 'INT64' } });
    expect(records[4]!.value).toBe('10.0.4.1');
    expect(records[7]!.dimensions).toEqual({ n: 7, kind: 's7', tags: { k: '7' } });
    expect(records[5]!.dimensions.kind).toBe('h5.example.com');
  });

  it('writes to stdout when file_path is empty (and when adapter_config is absent)', async () => {
    const before = t.stdout().length;
    await t.clients.metric({ instances: [{ name: 'a', value: int(1) }], adapter_config: paramsAny({}) });
    await t.clients.metric({ instances: [{ name: 'b', value: int(2) }] });
    const written = t.stdout().slice(before);
    expect(written).toBe(
      "HandleMetric invoked with:\n  Adapter config: &Params{FilePath:,}\n  Instances: 'a':\n  {\n\t\tValue = 1\n\t\tDimensions = map[]\n  }\n" +
        "HandleMetric invoked with:\n  Adapter config: &Params{FilePath:,}\n  Instances: 'b':\n  {\n\t\tValue = 2\n\t\tDimensions = map[]\n  }\n",
    );
  });

  it('keeps every block intact under 50 concurrent calls to one file', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.clients.metric({
          instances: [
            { name: `c${i}`, value: int(i) },
            { name: `d${i}`, value: int(i) },
          ],
          adapter_config: paramsAny({ file_path: 'concurrent.txt' }),
        }),
      ),
    );
    const text = await readFile(path.join(dir, 'concurrent.txt'), 'utf8');
    for (let i = 0; i < 50; i++) {
      expect(text).toContain(
        `  Instances: 'c${i}':\n  {\n\t\tValue = ${i}\n\t\tDimensions = map[]\n  }'d${i}':\n  {\n\t\tValue = ${i}\n\t\tDimensions = map[]\n  }\n`,
      );
    }
  });

  it('answers INVALID_ARGUMENT for a wrong type_url, naming both URLs, and writes nothing', async () => {
    const err = await rpcError(
      t.clients.metric({
        instances: [{ name: 'x', value: int(1) }],
        adapter_config: { type_url: 'type.googleapis.com/other.Params', value: Buffer.alloc(0) },
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('expected type_url "type.googleapis.com/adapter.mygrpcadapter.config.Params"');
    expect(err.details).toContain('got "type.googleapis.com/other.Params"');
  });

  it('answers INVALID_ARGUMENT for undecodable Params', async () => {
    const err = await rpcError(
      t.clients.metric({
        instances: [{ name: 'x', value: int(1) }],
        adapter_config: {
          type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params',
          value: Buffer.from([0x0a, 9, 1]),
        },
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/do not decode as adapter.mygrpcadapter.config.Params/);
  });

  it('answers INVALID_ARGUMENT for a malformed value and writes none of the call', async () => {
    const err = await rpcError(
      t.clients.metric({
        instances: [
          { name: 'good', value: int(1) },
          { name: 'bad', value: int(1), dimensions: { source_ip: ip([1, 2, 3]) } },
        ],
        adapter_config: paramsAny({ file_path: 'malformed.txt' }),
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(`instances[1] ("bad").dimensions["source_ip"]: IP address has 3 bytes, expected 4 or 16`);
    await expect(readFile(path.join(dir, 'malformed.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect(t.logs()).toContain('IP address has 3 bytes');
  });

  it('answers UNAVAILABLE when the folder of file_path is missing, then serves again once it exists', async () => {
    const req = {
      instances: [{ name: 'x', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'later/out.txt' }),
    };
    const err = await rpcError(t.clients.metric(req));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/^records not written: cannot open .*later\/out.txt for appending: ENOENT/);
    await mkdir(path.join(dir, 'later'));
    await t.clients.metric(req);
    expect(await readFile(path.join(dir, 'later/out.txt'), 'utf8')).toContain("Instances: 'x'");
  });

  it('answers INTERNAL when file_path cannot be a file, and keeps serving other calls', async () => {
    await writeFile(path.join(dir, 'plainfile'), '');
    const err = await rpcError(
      t.clients.metric({
        instances: [{ name: 'x', value: int(1) }],
        adapter_config: paramsAny({ file_path: 'plainfile/out.txt' }),
      }),
    );
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/ENOTDIR/);
    const dirErr = await rpcError(
      t.clients.metric({ instances: [{ name: 'x', value: int(1) }], adapter_config: paramsAny({ file_path: '.' }) }),
    );
    expect(dirErr.code).toBe(status.INTERNAL);
    expect(dirErr.details).toMatch(/EISDIR/);
    await t.clients.metric({
      instances: [{ name: 'y', value: int(2) }],
      adapter_config: paramsAny({ file_path: 'ok.txt' }),
    });
    expect(await readFile(path.join(dir, 'ok.txt'), 'utf8')).toContain("Instances: 'y'");
  });

  it('answers OK to a call with no instances and writes nothing', async () => {
    await t.clients.metric({ instances: [], adapter_config: paramsAny({ file_path: 'none.txt' }) });
    await expect(readFile(path.join(dir, 'none.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});

describe('HandleAuthorization', () => {
  const call = (token: string | undefined, params: Parameters<typeof paramsAny>[0]) =>
    t.clients.authorization({
      instance: {
        name: 'icheck.instance.istio-system',
        subject: { properties: token === undefined ? {} : { custom_token_header: str(token) } },
      },
      adapter_config: paramsAny(params),
      dedup_id: '7',
    });

  it('allows when custom_token_header equals auth_key', async () => {
    const res = await call('abc', { file_path: 'auth.txt', auth_key: 'abc' });
    expect(res.status?.code).toBe(status.OK);
    expect(res.valid_use_count).toBe(0);
  });

  it('returns the validity from Params', async () => {
    const res = await call('abc', {
      file_path: 'auth.txt',
      auth_key: 'abc',
      valid_duration: '2.5s',
      valid_use_count: 7,
    });
    expect(res.valid_duration).toMatchObject({ seconds: '2', nanos: 500_000_000 });
    expect(res.valid_use_count).toBe(7);
  });

  it('denies a wrong token with PERMISSION_DENIED "Unauthorized..."', async () => {
    const res = await call('abd', { file_path: 'auth.txt', auth_key: 'abc' });
    expect(res.status).toMatchObject({ code: status.PERMISSION_DENIED, message: 'Unauthorized...' });
  });

  it('denies a token that is a prefix of the key', async () => {
    const res = await call('ab', { file_path: 'auth.txt', auth_key: 'abc' });
    expect(res.status?.code).toBe(status.PERMISSION_DENIED);
  });

  it("denies when the property is missing; the wire message stays the walkthrough's", async () => {
    const res = await call(undefined, { file_path: 'auth.txt', auth_key: 'abc' });
    expect(res.status).toMatchObject({ code: status.PERMISSION_DENIED, message: 'Unauthorized...' });
  });

  it('denies when the property is not a string', async () => {
    const res = await t.clients.authorization({
      instance: { name: 'i', subject: { properties: { custom_token_header: int(5) } } },
      adapter_config: paramsAny({ auth_key: '5', file_path: 'auth.txt' }),
    });
    expect(res.status).toMatchObject({ code: status.PERMISSION_DENIED, message: 'Unauthorized...' });
  });

  it('denies everything when the handler has no auth_key', async () => {
    const res = await call('', { file_path: 'auth.txt' });
    expect(res.status).toMatchObject({ code: status.PERMISSION_DENIED, message: 'Unauthorized...' });
  });

  it('records every decision, with the token and key masked', async () => {
    const text = await readFile(path.join(dir, 'auth.txt'), 'utf8');
    expect(text.match(/HandleAuthorization invoked with:/g)!.length).toBeGreaterThanOrEqual(6);
    expect(text).toContain('  Result: OK, valid duration: 0s, valid use count: 0\n');
    // The reasons are in the record, not on the wire.
    for (const reason of [
      'the custom_token_header token does not match auth_key',
      'the instance has no subject property custom_token_header',
      'subject property custom_token_header is not a string',
      'the handler has no auth_key configured',
    ]) {
      expect(text).toContain(
        `  Result: PERMISSION_DENIED (Unauthorized...), reason: ${reason}, valid duration: 0s, valid use count: 0\n`,
      );
    }
    expect(text).not.toMatch(/abc|abd/);
    expect(t.logs()).not.toMatch(/abc|abd/);
  });

  it('answers INVALID_ARGUMENT when the instance is missing', async () => {
    const err = await rpcError(t.clients.authorization({ adapter_config: paramsAny({ auth_key: 'abc' }) }));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^instance: missing/);
  });
});

// Record and replay: the committed recordings replay against a fresh adapter,
// the server's --record output replays too, and a changed answer is caught.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAdapter } from '../src/main.js';
import type { RecordedCall } from '../src/recording/calls.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { runBin } from './helpers/cli.js';
import { FIXTURES, tempDir, writeOpConfig } from './helpers/opconfig.js';

const REPLAY = path.join(FIXTURES, 'replay');

let adapter: RunningAdapter;
let work: string;

beforeAll(async () => {
  work = await tempDir('replay-test-');
  adapter = await startQuietAdapter(work);
});

/** The sample operator config in a folder of its own below `work` (removed with it). */
const opConfig = async (flow: 'metric' | 'authorization', fill: { address: string; filePath: string }) =>
  writeOpConfig(flow, fill, await tempDir('config-', work));

afterAll(async () => {
  await adapter.stop();
  await rm(work, { recursive: true, force: true });
});

const readLines = async (file: string): Promise<RecordedCall[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RecordedCall);

describe('replay of the committed recordings', () => {
  it.each(['adapter.jsonl', 'standin.jsonl'])('%s gives the recorded answers again', async (name) => {
    const r = await runBin(['replay', path.join(REPLAY, name), '--address', adapter.address]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`replayed 5 calls to ${adapter.address}: 5 same, 0 different, 0 without a recorded answer\n`);
    expect(r.code).toBe(0);
  });

  it('sends the exact recorded bytes (the relative file_path lands in the data dir)', async () => {
    const text = await readFile(path.join(work, 'replay-metric.txt'), 'utf8');
    expect(text).toContain('Adapter config: &Params{FilePath:replay-metric.txt,}');
    expect(text).toContain('Value = 1235\n');
  });

  it('reports a changed answer and exits 1', async () => {
    const calls = await readLines(path.join(REPLAY, 'standin.jsonl'));
    const allowed = calls.findIndex((c) => c.method.includes('Authorization') && c.responseView !== undefined);
    const denied = calls.findLastIndex((c) => c.method.includes('Authorization'));
    expect(allowed).toBeGreaterThanOrEqual(0);
    // Pretend the allowed call had been denied when recorded.
    const tampered = calls.map((c, i) => (i === allowed ? { ...c, response: calls[denied]?.response } : c));
    const file = path.join(work, 'tampered.jsonl');
    await writeFile(file, tampered.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const r = await runBin(['replay', file, '--address', adapter.address]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `${file}:${allowed + 1} /authorization.HandleAuthorizationService/HandleAuthorization: different: expected response`,
    );
    expect(r.stdout).toContain(': 4 same, 1 different, 0 without a recorded answer\n');
  });

  it('names the line of a broken recording', async () => {
    const file = path.join(work, 'broken.jsonl');
    await writeFile(file, '{"method":"/metric.HandleMetricService/HandleMetric","request":""}\nnot json\n');
    const r = await runBin(['replay', file, '--address', adapter.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2: not JSON`);
  });
});

describe('serve --record', () => {
  it('records raw request, decoded view and answer for each call, and with its secrets kept the recording replays', async () => {
    const file = path.join(work, 'server.jsonl');
    const recording = await startQuietAdapter(work, { record: file, recordSecrets: true });
    try {
      const dir = await opConfig('authorization', { address: recording.address, filePath: 'auth.txt' });
      const check = await runBin([
        'mixer',
        'check',
        '--config',
        dir,
        '--stringmap_attributes',
        'request.headers=x-custom-token:abc',
        '--record',
        path.join(work, 'client.jsonl'),
        '--record-secrets',
      ]);
      expect(check.code).toBe(0);
    } finally {
      await recording.stop();
    }
    const [server] = await readLines(file);
    const [client] = await readLines(path.join(work, 'client.jsonl'));
    expect(server).toMatchObject({
      method: '/authorization.HandleAuthorizationService/HandleAuthorization',
      secrets: 'kept',
      status: { code: 0, name: 'OK', details: '' },
      view: { instance: { name: 'icheck.instance.istio-system' }, dedup_id: expect.stringMatching(/^\d{1,20}$/) },
      responseView: { status: { code: 0 } },
    });
    // Both ends saw the same bytes both ways.
    expect(server?.request).toBe(client?.request);
    expect(server?.response).toBe(client?.response);
    const r = await runBin(['replay', file, '--address', adapter.address]);
    expect(r.stdout).toContain('1 same, 0 different');
    expect(r.code).toBe(0);
  });

  it('records failed calls with their status', async () => {
    const file = path.join(work, 'failed.jsonl');
    const recording = await startQuietAdapter(work, { record: file });
    try {
      const dir = await opConfig('metric', { address: recording.address, filePath: '' });
      // Params the adapter rejects (format must be text or json): INVALID_ARGUMENT.
      const operator = path.join(dir, 'operator.yaml');
      await writeFile(operator, (await readFile(operator, 'utf8')).replace("file_path: ''", "format: 'xml'"));
      const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1']);
      expect(r.stdout).toMatch(
        /^Report RPC returned Unknown \(1 error occurred:\n\t\* rpc error: code = InvalidArgument desc = /,
      );
    } finally {
      await recording.stop();
    }
    const [line] = await readLines(file);
    expect(line?.status).toMatchObject({ code: 3, name: 'INVALID_ARGUMENT' });
    expect(line?.status.details).toContain('format');
    expect(line?.response).toBeUndefined();
  });
});

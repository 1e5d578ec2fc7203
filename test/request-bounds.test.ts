// One request must never take the process down (issue 12, point 1): the
// attacks that did, in bounded form, against the built adapter as a child
// process with npm start's node flags, once with a decode worker (large
// requests are counted and decoded there) and once without (everything on
// the main thread); its peak RSS is read from /proc.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH } from '../src/wire/load.js';
import { type CliProcess } from './helpers/cli.js';
import { connect, paramsAny, rawStatus, type Clients } from './helpers/clients.js';
import { MiB, peakRssBytes } from './helpers/child-memory.js';
import { int } from './helpers/values.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

// The Deployment's memory limit; the adapter must stay well inside it.

/** `n` empty instances (`0a 00` each), optionally followed by an unknown top-level field. */
function emptyInstances(n: number, unknownField: boolean): Buffer {
  const body = Buffer.alloc(2 * n + (unknownField ? 3 : 0));
  for (let i = 0; i < n; i++) body[2 * i] = 0x0a;
  if (unknownField) body.set([0x7a, 0x01, 0x00], 2 * n); // field 15, 1 byte
  return body;
}

/** A length-delimited field (one tag byte) around `body`. */
function field(tag: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  while (n >= 0x80) {
    len.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  len.push(n);
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}

/** `n` map entries `"<i in base 36>": {}` with the given entry tag byte. */
function mapEntries(tag: number, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const key = Buffer.from(i.toString(36));
    parts.push(Buffer.from([tag, key.length + 4, 0x0a, key.length]), key, Buffer.from([0x12, 0x00]));
  }
  return Buffer.concat(parts);
}

describe.each([
  ['a decode worker', '1'],
  ['no decode workers', '0'],
])('one request cannot exhaust the process, with %s', (_name, workers) => {
  let dir: string;
  let adapter: CliProcess;
  let raw: grpc.Client;
  let clients: Clients;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'request-bounds-'));
    // The attacks were sent just under the old 16 MiB default; allow that much here.
    const flags = [
      '--max-message-bytes',
      String(17 * MiB),
      '--max-pending-request-bytes',
      String(17 * MiB),
      '--decode-workers',
      workers,
    ];
    adapter = await startAsDeployment(['0', '--host', '127.0.0.1', '--log-level', 'warn', '--data-dir', dir, ...flags]);
    raw = new grpc.Client(adapter.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
    clients = connect(adapter.address);
  }, 60_000);

  afterAll(async () => {
    raw?.close();
    clients?.close();
    adapter?.child.kill('SIGTERM');
    await adapter?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  async function stillServes(): Promise<void> {
    const adapter_config = paramsAny({ sink: 'stdout' });
    await clients.metric({ instances: [{ name: 'good', value: int(1) }], adapter_config });
    await clients.authorization({ instance: { name: 'a', subject: {} }, adapter_config });
  }

  it.each([
    ['8.4M empty instances (16.8 MB) and an unknown field', 8_400_000, true],
    ['8.4M empty instances (16.8 MB)', 8_400_000, false],
    ['1M empty instances in 2 MB', 1_000_000, false],
  ])('%s: RESOURCE_EXHAUSTED naming the bound', async (_what, n, unknownField) => {
    const answer = await rawStatus(raw, METRIC_METHOD_PATH, emptyInstances(n, unknownField));
    expect(answer.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(answer.details).toContain(`holds ${n} instances`);
    expect(answer.details).toContain('--max-decode-bytes');
    await stillServes();
  });

  it('one instance with 100k dimensions (1 MB): RESOURCE_EXHAUSTED', async () => {
    const answer = await rawStatus(raw, METRIC_METHOD_PATH, field(0x0a, mapEntries(0x12, 100_000)));
    expect(answer.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(answer.details).toContain('100000 map entries');
    await stillServes();
  });

  it('an authorization request with 1M subject properties: RESOURCE_EXHAUSTED', async () => {
    const answer = await rawStatus(
      raw,
      AUTHORIZATION_METHOD_PATH,
      field(0x0a, field(0x0a, mapEntries(0x1a, 1_000_000))),
    );
    expect(answer.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(answer.details).toContain('1000000 map entries');
    await stillServes();
  });

  it('a call just under the bound is served', async () => {
    // 12,000 empty instances: ~24.6 MB estimated, under the 32 MiB default.
    const answer = await rawStatus(raw, METRIC_METHOD_PATH, emptyInstances(12_000, true));
    expect(answer).toEqual({ code: grpc.status.OK, details: '' });
  });

  it('kept the adapter inside the Deployment limit throughout', async () => {
    const peak = await peakRssBytes(adapter.child.pid!);
    console.log(`request-bounds (${workers} decode workers): adapter peak RSS ${(peak / MiB).toFixed(1)} MiB`);
    expect(peak).toBeLessThan(DEPLOYMENT_LIMIT);
  });
});

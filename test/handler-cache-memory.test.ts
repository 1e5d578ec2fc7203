// Handler configurations cannot grow the process (issue 20, point 4): 300
// adapter_configs with a 4 MB auth_key each once took the adapter to 1.2 GB
// RSS (the handler cache kept every configuration's bytes as its key). The
// built adapter runs as a child with npm start's node flags; its RSS is read
// from /proc.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PARAMS_BYTES } from '../src/core/params/params.js';
import { startCli, stopCli, type CliProcess } from './helpers/cli.js';
import { connect, paramsAny, type Clients } from './helpers/clients.js';
import { MiB, peakRssBytes, rssBytes } from './helpers/child-memory.js';
import { int } from './helpers/values.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

const CONFIGS = 300;
/** Measured on Node.js 24 in a 256 MiB cgroup: 104 MiB at start, peaks of 182 MiB after the first attack below and 195 MiB after both. */
const RSS_BOUND = DEPLOYMENT_LIMIT;

/** Params of exactly `bytes` bytes: stdout sink, json format, and an auth_key made distinct by `i`. */
function fatParams(i: number, bytes: number): { type_url: string; value: Buffer } {
  const base = paramsAny({ sink: 'stdout', format: 'json', auth_key: '' });
  // auth_key is field 2: a tag byte, a varint length, then the key; fill the rest.
  let keyBytes = bytes - base.value.length - 2;
  let any = paramsAny({ sink: 'stdout', format: 'json', auth_key: keyOf(i, keyBytes) });
  keyBytes -= any.value.length - bytes; // a longer length varint takes a byte or two
  any = paramsAny({ sink: 'stdout', format: 'json', auth_key: keyOf(i, keyBytes) });
  expect(any.value.length).toBe(bytes);
  return any;
}

function keyOf(i: number, length: number): string {
  const prefix = `key-${i}-`;
  return prefix + 'k'.repeat(length - prefix.length);
}

describe('fat handler configurations against the built adapter', () => {
  let dir: string;
  let adapter: CliProcess;
  let clients: Clients;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'handler-cache-memory-'));
    adapter = await startAsDeployment(['0', '--host', '127.0.0.1', '--log-level', 'warn', '--data-dir', dir]);
    clients = connect(adapter.address);
  }, 60_000);

  afterAll(async () => {
    clients?.close();
    adapter?.child.kill('SIGTERM');
    await adapter?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  /** Logs and returns the child's RSS now and at its peak. */
  async function memory(what: string): Promise<{ now: number; peak: number }> {
    const pid = adapter.child.pid!;
    const [now, peak] = await Promise.all([rssBytes(pid), peakRssBytes(pid)]);
    console.log(
      `handler-cache-memory: ${what}: RSS ${(now / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`,
    );
    return { now, peak };
  }

  it(`${CONFIGS} distinct configurations with a 4 MB auth_key: INVALID_ARGUMENT naming the limit, RSS bounded`, async () => {
    await memory('at start');
    for (let i = 0; i < CONFIGS; i++) {
      const adapter_config = paramsAny({ sink: 'stdout', format: 'json', auth_key: keyOf(i, 4_000_000) });
      const size = adapter_config.value.length;
      const call =
        i % 2 === 0
          ? clients.metric({ instances: [{ name: 'm', value: int(i) }], adapter_config })
          : clients.authorization({ instance: { name: 'a', subject: {} }, adapter_config });
      await expect(call).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: `adapter_config: ${size} bytes is more than the ${DEFAULT_MAX_PARAMS_BYTES} a handler configuration may hold`,
      });
    }
    // Before the fix: 1258 MiB after the calls, 1226 MiB after 10 s idle.
    const { peak } = await memory(`after ${CONFIGS} configurations of 4 MB`);
    expect(peak).toBeLessThan(RSS_BOUND);
  }, 120_000);

  it(`${CONFIGS} distinct configurations as large as the bound allows: served, RSS bounded`, async () => {
    for (let i = 0; i < CONFIGS; i++) {
      const adapter_config = fatParams(i, DEFAULT_MAX_PARAMS_BYTES);
      await clients.metric({ instances: [{ name: 'm', value: int(i) }], adapter_config });
      await clients.authorization({ instance: { name: 'a', subject: {} }, adapter_config });
    }
    const { peak } = await memory(`after ${CONFIGS} configurations of ${DEFAULT_MAX_PARAMS_BYTES} bytes`);
    expect(peak).toBeLessThan(RSS_BOUND);
  }, 120_000);
});

describe('--max-params-bytes', () => {
  let proc: CliProcess | undefined;
  let clients: Clients | undefined;
  afterAll(async () => {
    clients?.close();
    await stopCli(proc);
  });

  it('sets the Params bound the adapter answers with', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--max-params-bytes', '2Ki']);
    clients = connect(proc.address);
    const call = (key: string) =>
      clients!.metric({
        instances: [{ name: 'm', value: int(1) }],
        adapter_config: paramsAny({ sink: 'stdout', auth_key: key }),
      });
    await call('k'.repeat(1000));
    const err = (await call('k'.repeat(3000)).then(
      () => undefined,
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/is more than the 2048 a handler configuration may hold/);
  });
});

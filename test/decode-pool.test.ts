// Large metric batches decoded and formatted on a worker thread must give
// exactly what the main-thread path gives, errors included.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceMsg } from '../src/generated/metric/InstanceMsg.js';
import { OFFLOAD_MIN_BYTES } from '../src/frontends/mixer/metric-service.js';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { dbl, int, ip, str, ts } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';
import { metricRequestOnWire } from './helpers/wire.js';
import { serviceDefinitions } from '../src/wire/load.js';

let dir: string;
let offloaded: TestAdapter;
let inline: TestAdapter;
const memory = memorySinkControl();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'decode-pool-'));
  const sinks = { memory: () => Promise.resolve(new MemorySink(memory)) };
  await mkdir(path.join(dir, 'worker'));
  await mkdir(path.join(dir, 'main'));
  offloaded = await startTestAdapter(
    { dataDir: path.join(dir, 'worker'), decodeWorkers: 2, metricsPort: 0, metricsHost: '127.0.0.1' },
    sinks,
  );
  inline = await startTestAdapter({ dataDir: path.join(dir, 'main'), decodeWorkers: 0 });
});

afterAll(async () => {
  await offloaded.stop();
  await inline.stop();
  await rm(dir, { recursive: true, force: true });
});

function batch(n: number, name = (i: number) => `i${i}.instance.istio-system`): InstanceMsg[] {
  return Array.from({ length: n }, (_, i) => ({
    name: name(i),
    value: i % 3 === 0 ? dbl(i / 7) : int(i),
    dimensions: {
      response_code: int(200 + (i % 5)),
      destination_service: str(`svc-${i % 7}.default.svc.cluster.local`),
      source_ip: ip([10, 0, 0, i % 256]),
      request_time: ts(1_700_000_000 + i, 1000 * i),
    },
  }));
}

function encodedSize(instances: InstanceMsg[]): number {
  return serviceDefinitions().metric.HandleMetric.requestSerialize({ instances }).length;
}

describe('decode workers', () => {
  it('are only used for batches of at least OFFLOAD_MIN_BYTES', () => {
    expect(encodedSize(batch(1))).toBeLessThan(OFFLOAD_MIN_BYTES);
    expect(encodedSize(batch(100))).toBeGreaterThan(OFFLOAD_MIN_BYTES);
    expect(metricRequestOnWire({ instances: batch(100) }).instances).toHaveLength(100);
  });

  it.each(['text', 'json'])('write byte for byte what the main thread writes (%s)', async (format) => {
    for (const adapter of [offloaded, inline]) {
      for (const n of [1, 100, 1000]) {
        await adapter.clients.metric({
          instances: batch(n),
          adapter_config: paramsAny({ file_path: `out.${format}`, format }),
          dedup_id: String(n),
        });
      }
    }
    const worker = await readFile(path.join(dir, 'worker', `out.${format}`), 'utf8');
    const main = await readFile(path.join(dir, 'main', `out.${format}`), 'utf8');
    const strip = (s: string) => s.replace(/"receivedAt":"[^"]*"/g, '');
    expect(strip(worker)).toBe(strip(main));
    expect(worker.length).toBeGreaterThan(100_000);
  });

  it('answer INVALID_ARGUMENT with the main thread message, and write nothing', async () => {
    const instances = batch(100);
    instances[57] = { name: 'bad', value: ip([1, 2, 3]) };
    const req = { instances, adapter_config: paramsAny({ file_path: 'bad.txt' }) };
    const fromWorker = await rpcError(offloaded.clients.metric(req));
    const fromMain = await rpcError(inline.clients.metric(req));
    expect(fromWorker.code).toBe(status.INVALID_ARGUMENT);
    expect(fromWorker.details).toBe(fromMain.details);
    expect(fromWorker.details).toBe(`instances[57] ("bad").value: IP address has 3 bytes, expected 4 or 16`);
    await expect(readFile(path.join(dir, 'worker', 'bad.txt'), 'utf8')).resolves.toBe('');
  });

  it('leave sinks that format their own way (memory) to the main thread', async () => {
    await offloaded.clients.metric({ instances: batch(100), adapter_config: paramsAny({ sink: 'memory' }) });
    expect(memory.records).toHaveLength(100);
    expect(memory.records[3]).toMatchObject({ instance: 'i3.instance.istio-system', valueKind: 'DOUBLE' });
  });

  it('count instances for the metrics like the main thread does', async () => {
    const text = await offloaded.adapter.metrics!.registry.getSingleMetricAsString('mygrpcadapter_instances_total');
    const total = [...text.matchAll(/^mygrpcadapter_instances_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    // 2 formats x (1 + 100 + 1000) + 100 for the memory sink.
    expect(total).toBe(2 * 1101 + 100);
  });
});

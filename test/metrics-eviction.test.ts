// Prometheus label sets must not outlive what they describe (issue 12,
// point 3): many distinct handler configurations, each with a file sink of
// its own, through a small handler cache; /metrics must stay the size of what
// is cached, not of everything ever seen.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { MiB, peakRssBytes } from './helpers/child-memory.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';
import { int } from './helpers/values.js';

const CACHE = 4;
let dir: string;
let t: TestAdapter;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'metrics-eviction-'));
  t = await startTestAdapter({
    dataDir: dir,
    handlerCacheSize: CACHE,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

const series = (text: string, name: string): string[] =>
  text.split('\n').filter((line) => line.startsWith(`mygrpcadapter_${name}{`));

/** One report and one check through handler configuration number `i` (its own file). */
async function useConfig(i: number): Promise<void> {
  const adapter_config = paramsAny({ sink: 'file', file_path: `out-${i}.txt`, auth_key: 'k' });
  await t.clients.metric({ instances: [{ name: 'm', value: int(i) }], adapter_config });
  await t.clients.authorization({ instance: { name: 'a', subject: {} }, adapter_config });
}

/** Waits until the evicted configurations' sinks have closed (their close is flushed asynchronously). */
async function settled(): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const text = await scrape();
    if (series(text, 'sink_bytes_written_total').length <= CACHE) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  return scrape();
}

describe('metric series of evicted handlers and closed sinks', () => {
  it('go away with them: /metrics holds only what is cached', async () => {
    for (let i = 0; i < 10; i++) await useConfig(i);
    const early = await settled();
    for (let i = 10; i < 200; i++) await useConfig(i);
    const late = await settled();

    // Two templates per cached configuration, one destination per cached configuration.
    expect(series(late, 'instances_total')).toHaveLength(2 * CACHE);
    expect(series(late, 'sink_bytes_written_total')).toHaveLength(CACHE);
    expect(late).toContain('destination="' + path.join(dir, 'out-199.txt') + '"');
    expect(late).not.toContain('out-0.txt');
    // The scrape does not grow with the number of configurations ever seen.
    expect(late.length).toBeLessThan(early.length * 1.2);
    expect(late).toMatch(/mygrpcadapter_handler_cache_evictions_total 196\b/);
  });
});

describe('the built adapter under many handler configurations', () => {
  it('keeps /metrics and its memory bounded (default --handler-cache-size 256, 1500 configurations)', async () => {
    const proc = await startAsDeployment([
      ...['0', '--host', '127.0.0.1', '--log-level', 'info', '--data-dir', dir],
      ...['--metrics-port', '0', '--metrics-host', '127.0.0.1'],
    ]);
    const clients = connect(proc.address);
    try {
      const metricsPort = await new Promise<number>((resolve) => {
        const poll = setInterval(() => {
          const m = /"port":(\d+),"msg":"serving Prometheus metrics/.exec(proc.stderr());
          if (m) {
            clearInterval(poll);
            resolve(Number(m[1]));
          }
        }, 20);
      });
      for (let i = 0; i < 1500; i++) {
        const adapter_config = paramsAny({ sink: 'file', file_path: `many-${i}.txt`, auth_key: 'k' });
        await clients.metric({ instances: [{ name: 'm', value: int(i) }], adapter_config });
      }
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const peak = await peakRssBytes(proc.child.pid!);
      console.log(
        `metrics-eviction: 1500 configurations: /metrics ${text.length} bytes, ` +
          `${series(text, 'instances_total').length} instances_total series, peak RSS ${(peak / MiB).toFixed(1)} MiB`,
      );
      expect(series(text, 'instances_total').length).toBeLessThanOrEqual(256);
      expect(series(text, 'sink_bytes_written_total').length).toBeLessThanOrEqual(256);
      expect(peak).toBeLessThan(DEPLOYMENT_LIMIT);
    } finally {
      clients.close();
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  }, 120_000);
});

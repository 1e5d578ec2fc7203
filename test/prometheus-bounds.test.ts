// The Prometheus sink holds its bounds against whoever can send it metric
// calls: the built adapter as a child process with --prometheus-port, fed over
// real gRPC calls. Label values past the length bound are refused and counted,
// max_series_per_metric past its maximum is refused with INVALID_ARGUMENT, and
// new series past the sink's byte budget are refused and counted while the
// series already there keep updating; the child's RSS stays inside the
// Deployment's 256 Mi through every attack and a scrape.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERIES_PER_METRIC } from '../src/core/params/prometheus-params.js';
import type { Params } from '../src/generated/adapter/mygrpcadapter/config/Params.js';
import type { HandleMetricRequest } from '../src/generated/metric/HandleMetricRequest.js';
import { DEFAULT_MAX_LABEL_VALUE_BYTES, DEFAULT_SERIES_MAX_BYTES } from '../src/sinks/prometheus/series.js';
import { MiB, peakRssBytes, rssBytes } from './helpers/child-memory.js';
import { runBin, startCli, type CliProcess, stopCli } from './helpers/cli.js';
import { connect, paramsAny, type Clients } from './helpers/clients.js';
import { freePort } from './helpers/real-prometheus.js';
import { dbl, str } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';

let dir: string;
let adapter: CliProcess;
let mixer: Clients;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'prometheus-bounds-'));
  port = await freePort();
  adapter = await startAsDeployment([
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--data-dir',
    dir,
    '--prometheus-port',
    String(port),
  ]);
  mixer = connect(adapter.address, undefined, { 'grpc.max_send_message_length': 8 * MiB });
}, 60_000);

afterAll(async () => {
  mixer?.close();
  await stopCli(adapter);
  await rm(dir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function refused(page: string, metric: string, reason: string): number {
  const m = new RegExp(
    `^mygrpcadapter_prometheus_sink_refused_instances_total\\{metric="${metric}",reason="${reason}"\\} (\\d+)$`,
    'm',
  ).exec(page);
  return m ? Number(m[1]) : 0;
}

const seriesLines = (page: string, name: string): string[] =>
  page.split('\n').filter((line) => line.startsWith(`${name}{`));

function params(name: string, kind: 'GAUGE' | 'COUNTER' | 'DISTRIBUTION', maxSeries = 0): Params {
  return {
    sink: 'prometheus',
    metrics: [
      {
        namespace: 'bounds',
        name,
        instance_name: `${name}.instance.istio-system`,
        kind,
        label_names: ['k'],
        ...(kind === 'DISTRIBUTION'
          ? { buckets: { linear_buckets: { num_finite_buckets: 48, width: 1, offset: 0 } } }
          : {}),
      },
    ],
    max_series_per_metric: maxSeries,
  };
}

/** `count` instances of metric `name`, label k = a distinct `bytes`-byte value from `first` on, in calls of `perCall`. */
async function feed(
  p: Params,
  name: string,
  first: number,
  count: number,
  bytes: number,
  perCall: number,
): Promise<void> {
  const adapter_config = paramsAny(p);
  const pad = 'v'.repeat(bytes - 8);
  for (let i = first; i < first + count; i += perCall) {
    const n = Math.min(perCall, first + count - i);
    const req: HandleMetricRequest = {
      instances: Array.from({ length: n }, (_, j) => ({
        name: `${name}.instance.istio-system`,
        value: dbl(1),
        dimensions: { k: str(`${String(i + j).padStart(8, '0')}${pad}`) },
      })),
      adapter_config,
    };
    await mixer.metric(req); // OK: a misfit is counted, never an error to Mixer
  }
}

async function report(what: string): Promise<number> {
  const peak = await peakRssBytes(adapter.child.pid!);
  const now = await rssBytes(adapter.child.pid!);
  console.log(
    `prometheus-bounds ${what}: adapter RSS ${(now / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`,
  );
  return peak;
}

describe('the Prometheus sink under many and large series', () => {
  it('max_series_per_metric past the maximum: INVALID_ARGUMENT naming it', async () => {
    const err = await rpcError(
      mixer.metric({
        instances: [{ name: 'capped.instance.istio-system', value: dbl(1), dimensions: { k: str('a') } }],
        adapter_config: paramsAny(params('capped', 'GAUGE', 2147483647)),
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(`max_series_per_metric: at most ${MAX_SERIES_PER_METRIC}, got 2147483647`);
  });

  it('10,000 series with 16 KiB label values: refused as too long, counted; the page stays small', async () => {
    await feed(params('long', 'GAUGE'), 'long', 0, 10_000, 16 * 1024, 200);
    await report('16 KiB label values, before a scrape');
    const page = await scrape();
    const peak = await report('16 KiB label values, after a scrape');
    expect(refused(page, 'bounds_long', 'label_too_long')).toBe(10_000);
    expect(seriesLines(page, 'bounds_long')).toEqual([]);
    expect(adapter.stderr()).toContain('prometheus sink did not apply an instance: label_too_long (bounds_long)');
    // A value at the bound is taken.
    await feed(params('long', 'GAUGE'), 'long', 0, 1, DEFAULT_MAX_LABEL_VALUE_BYTES, 1);
    expect(seriesLines(await scrape(), 'bounds_long')).toHaveLength(1);
    expect(peak).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 120_000);

  it('series past the byte budget: new ones refused and counted, old ones still update, the page bounded', async () => {
    // Histograms count each of their lines (51 here): 2000 series of 512-byte labels are over the budget alone.
    await feed(params('spread', 'DISTRIBUTION'), 'spread', 0, 2000, 512, 500);
    let page = await scrape();
    const histograms = seriesLines(page, 'bounds_spread_count').length;
    expect(histograms).toBeGreaterThan(100);
    expect(histograms).toBeLessThan(2000);
    expect(histograms + refused(page, 'bounds_spread', 'series_budget')).toBe(2000);
    // 12,000 series of 2 KiB label values, more than the default cap of 10,000 allows: 24 MB of labels.
    const wide = params('wide', 'GAUGE', MAX_SERIES_PER_METRIC);
    const bytes = DEFAULT_MAX_LABEL_VALUE_BYTES;
    await feed(wide, 'wide', 0, 12_000, bytes, 1000);
    page = await scrape();
    const peak = await report('byte budget');
    const kept = seriesLines(page, 'bounds_wide').length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(12_000);
    expect(kept + refused(page, 'bounds_wide', 'series_budget')).toBe(12_000);
    expect(adapter.stderr()).toContain('prometheus sink did not apply an instance: series_budget (bounds_wide)');
    expect(Buffer.byteLength(page)).toBeLessThan(DEFAULT_SERIES_MAX_BYTES * 1.1);
    // The series already there go on updating: the first one again, with a new value.
    await mixer.metric({
      instances: [
        {
          name: 'wide.instance.istio-system',
          value: dbl(42),
          dimensions: { k: str(`${'0'.repeat(8)}${'v'.repeat(bytes - 8)}`) },
        },
      ],
      adapter_config: paramsAny(wide),
    });
    expect(await scrape()).toMatch(/^bounds_wide\{k="00000000v+"\} 42$/m);
    expect(peak).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 180_000);
});

describe('the Prometheus sink bounds as flags', () => {
  let small: CliProcess;
  let smallMixer: Clients;
  let smallPort: number;

  beforeAll(async () => {
    smallPort = await freePort();
    small = await startCli([
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dir,
      '--prometheus-port',
      String(smallPort),
      '--prometheus-max-label-bytes',
      '16',
      '--prometheus-max-bytes',
      '1Mi',
    ]);
    smallMixer = connect(small.address);
  }, 60_000);

  afterAll(async () => {
    smallMixer?.close();
    await stopCli(small);
  });

  it('--prometheus-max-label-bytes and --prometheus-max-bytes reach the sink', async () => {
    const adapter_config = paramsAny(params('flagged', 'GAUGE'));
    const instance = (k: string) => ({
      name: 'flagged.instance.istio-system',
      value: dbl(1),
      dimensions: { k: str(k) },
    });
    await smallMixer.metric({ instances: [instance('x'.repeat(16)), instance('y'.repeat(17))], adapter_config });
    const page = await (await fetch(`http://127.0.0.1:${smallPort}/metrics`)).text();
    expect(seriesLines(page, 'bounds_flagged')).toEqual([`bounds_flagged{k="${'x'.repeat(16)}"} 1`]);
    expect(refused(page, 'bounds_flagged', 'label_too_long')).toBe(1);
    expect(page).toMatch(/^mygrpcadapter_prometheus_sink_series_bytes_limit 1048576$/m);
  });

  it(`--prometheus-max-series above ${MAX_SERIES_PER_METRIC} is refused at start, naming the maximum`, async () => {
    const r = await runBin(['0', '--host', '127.0.0.1', '--prometheus-max-series', String(MAX_SERIES_PER_METRIC + 1)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`--prometheus-max-series.*${MAX_SERIES_PER_METRIC}`));
  });
});

// The Prometheus sink against a real Prometheus (Debian's, on loopback):
// calls through the Mixer stand-in (with operatorconfig/'s sample handler) and
// Mixer 1.6.14's own bytes (the realmixer fixture) with known values;
// Prometheus scrapes the adapters' series endpoints; its HTTP API must then
// return exactly the counters, gauges and histogram buckets those values make,
// per label set. Also: two replicas add up with `sum by`, an idle series
// expires, the per-metric cap holds, and misfits are counted, not dropped.
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Params } from '../src/generated/adapter/mygrpcadapter/config/Params.js';
import type { Value } from '../src/generated/istio/policy/v1beta1/Value.js';
import type { HandleMetricRequest } from '../src/generated/metric/HandleMetricRequest.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, runBin } from './helpers/cli.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { startPrometheus, type RealPrometheus } from './helpers/real-prometheus.js';
import { dbl, int, str } from './helpers/values.js';

const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let replicaA: TestAdapter;
let replicaB: TestAdapter;
let other: TestAdapter;
let prometheus: RealPrometheus;
let dir: string;

/** The samples of `expr` as "label=value,... value" lines, sorted; job and instance labels left out. */
async function samples(expr: string): Promise<string[]> {
  const result = await prometheus.query(expr);
  return result
    .map((s) => {
      const labels = Object.entries(s.metric)
        .filter(([k]) => k !== 'job' && k !== 'instance')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return `${labels} ${s.value[1]}`;
    })
    .sort();
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms: ${prometheus.output()}`);
    await sleep(200);
  }
}

/** What a histogram with these bounds holds after these observations, per destination_service. */
function histogram(name: string, bounds: number[], observed: Record<string, number[]>, extra = ''): string[] {
  const lines: string[] = [];
  for (const [service, values] of Object.entries(observed)) {
    const labels = `${extra}destination_service=${service}`;
    for (const le of [...bounds.map(String), '+Inf']) {
      const n = values.filter((v) => le === '+Inf' || v <= Number(le)).length;
      lines.push(`__name__=${name}_bucket,${labels},le=${le} ${n}`);
    }
  }
  return lines.sort();
}

function sums(name: string, observed: Record<string, number[]>): string[] {
  return Object.entries(observed)
    .flatMap(([service, values]) => [
      `__name__=${name}_count,destination_service=${service} ${values.length}`,
      `__name__=${name}_sum,destination_service=${service} ${values.reduce((a, b) => a + b, 0)}`,
    ])
    .sort();
}

async function standIn(address: string, service: string, size: number, code: number, times = 1): Promise<void> {
  const config = ['attributes', 'metric', 'authorization', 'mygrpcadapter'].flatMap((f) => [
    '--config',
    path.join(ROOT, `operatorconfig/${f}.yaml`),
  ]);
  const r = await runBin([
    'mixer',
    'report',
    ...config,
    '--config',
    path.join(dir, 'prometheus_sample.yaml'),
    '--address',
    address,
    '-r',
    String(times),
    '-s',
    `destination.service=${service}`,
    '-i',
    `request.size=${size},response.code=${code}`,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** Sends Mixer's recorded request bytes unchanged. */
function sendRaw(address: string, method: string, bytes: Buffer): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) =>
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      },
    ),
  );
}

const CAPPED: Params = {
  sink: 'prometheus',
  metrics: [
    {
      namespace: 'test',
      name: 'capped',
      instance_name: 'capped.instance.istio-system',
      kind: 'GAUGE',
      label_names: ['k'],
    },
  ],
  max_series_per_metric: 2,
};
const EXPIRING: Params = {
  sink: 'prometheus',
  metrics: [
    {
      namespace: 'test',
      name: 'expiring',
      instance_name: 'expiring.instance.istio-system',
      kind: 'GAUGE',
      label_names: ['k'],
    },
  ],
  metrics_expiration_policy: { metrics_expiry_duration: '1500ms', expiry_check_interval_duration: '250ms' },
};

function gaugeCall(params: Params, instance: string, k: string | undefined, value = dbl(1)): HandleMetricRequest {
  const dimensions: Record<string, Value> = k === undefined ? {} : { k: str(k) };
  return {
    instances: [{ name: instance, value, dimensions }],
    adapter_config: paramsAny(params),
    dedup_id: '1',
  };
}

describeWith(['prometheus'], 'the Prometheus sink, read back from a real Prometheus', () => {
  beforeAll(async () => {
    dir = await tempDir('prometheus-sink-');
    // operatorconfig/'s sample as shipped, pointed at loopback.
    const sample = readFileSync(path.join(ROOT, 'operatorconfig/prometheus_sample.yaml'), 'utf8');
    await writeFile(path.join(dir, 'prometheus_sample.yaml'), sample.replace(/address: .*/, 'address: 127.0.0.1:1'));
    const start = () => startTestAdapter({ logLevel: 'warn', prometheusPort: 0 });
    [replicaA, replicaB, other] = await Promise.all([start(), start(), start()]);
    const job = (name: string, t: TestAdapter) =>
      [`  - job_name: ${name}`, `    static_configs: [{ targets: ['127.0.0.1:${t.adapter.prometheusPort!}'] }]`].join(
        '\n',
      );
    prometheus = await startPrometheus(
      [job('replica-a', replicaA), job('replica-b', replicaB), job('other', other), ''].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([replicaA, replicaB, other].map((t) => t?.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stand-in calls with the sample handler: exact counters, gauges and histogram buckets per label set', async () => {
    await standIn(replicaA.adapter.address, REVIEWS, 1235, 200, 2);
    await standIn(replicaA.adapter.address, RATINGS, 50, 404);
    await standIn(replicaB.adapter.address, REVIEWS, 300, 200);
    await until('both replicas scraped with every call', async () => {
      const a = await prometheus.query('istio_requests_total{job="replica-a"}');
      const b = await prometheus.query('istio_requests_total{job="replica-b"}');
      return a.reduce((n, s) => n + Number(s.value[1]), 0) === 3 && b.length === 1;
    });

    expect(await samples('istio_requests_total{job="replica-a"}')).toEqual([
      `__name__=istio_requests_total,destination_service=${RATINGS},response_code=404 1`,
      `__name__=istio_requests_total,destination_service=${REVIEWS},response_code=200 2`,
    ]);
    const bounds = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
    const observedA = { [REVIEWS]: [1235, 1235], [RATINGS]: [50] };
    expect(await samples('istio_request_bytes_bucket{job="replica-a"}')).toEqual(
      histogram('istio_request_bytes', bounds, observedA),
    );
    expect(await samples('{__name__=~"istio_request_bytes_(sum|count)",job="replica-a"}')).toEqual(
      sums('istio_request_bytes', observedA),
    );
    expect(await samples('istio_last_request_bytes{job="replica-a"}')).toEqual([
      `__name__=istio_last_request_bytes,destination_service=${RATINGS} 50`,
      `__name__=istio_last_request_bytes,destination_service=${REVIEWS} 1235`,
    ]);
    // Each replica counts what it was sent; Prometheus adds them up.
    expect(await samples('sum by (destination_service, response_code) (istio_requests_total)')).toEqual([
      `destination_service=${RATINGS},response_code=404 1`,
      `destination_service=${REVIEWS},response_code=200 3`,
    ]);
  }, 90_000);

  it("Mixer 1.6.14's recorded calls (realmixer fixture): every bucket shape, DURATION in seconds", async () => {
    const dump = readFileSync(path.join(ROOT, 'test/fixtures/realmixer-prometheus/calls.dump'), 'utf8');
    for (const line of dump.trim().split('\n')) {
      const [method, hex] = line.split(' ');
      await sendRaw(other.adapter.address, method!, Buffer.from(hex!, 'hex'));
    }
    await until(
      'the fixture series scraped',
      async () => (await prometheus.query('fixture_requests_total')).length === 2,
    );

    expect(await samples('fixture_requests_total')).toEqual([
      `__name__=fixture_requests_total,destination_service=${RATINGS},response_code=503 1`,
      `__name__=fixture_requests_total,destination_service=${REVIEWS},response_code=200 1`,
    ]);
    expect(await samples('istio_request_bytes_bucket{job="other"}')).toEqual(
      histogram('istio_request_bytes', [100, 1000, 10_000], { [REVIEWS]: [1500], [RATINGS]: [80] }),
    );
    expect(await samples('istio_request_duration_seconds_bucket')).toEqual(
      histogram('istio_request_duration_seconds', [0.05, 0.1, 0.15, 0.2, 0.25], {
        [REVIEWS]: [0.12],
        [RATINGS]: [0.03],
      }),
    );
    expect(await samples('istio_response_bytes_bucket')).toEqual(
      histogram('istio_response_bytes', [10, 100, 1000, 10_000], { [REVIEWS]: [700], [RATINGS]: [5] }),
    );
    expect(await samples('istio_last_request_bytes{job="other"}')).toEqual([
      `__name__=istio_last_request_bytes,destination_service=${RATINGS} 80`,
      `__name__=istio_last_request_bytes,destination_service=${REVIEWS} 1500`,
    ]);
  }, 60_000);

  it('the series cap holds and misfits are counted and logged while every call answers OK', async () => {
    const capped = 'capped.instance.istio-system';
    for (const [k, v] of [
      ['one', 1],
      ['two', 2],
      ['three', 3],
      ['one', 11],
    ] as const) {
      await other.clients.metric(gaugeCall(CAPPED, capped, k, dbl(v)));
    }
    await other.clients.metric(gaugeCall(CAPPED, capped, 'one', str('not a number')));
    await other.clients.metric(gaugeCall(CAPPED, capped, undefined));
    await other.clients.metric(gaugeCall(CAPPED, 'unknown.instance.istio-system', 'one'));
    await until(
      'the refusals scraped',
      async () => (await prometheus.query('mygrpcadapter_prometheus_sink_refused_instances_total')).length === 4,
    );

    expect(await samples('test_capped')).toEqual(['__name__=test_capped,k=one 11', '__name__=test_capped,k=two 2']);
    expect(await samples('mygrpcadapter_prometheus_sink_refused_instances_total')).toEqual([
      '__name__=mygrpcadapter_prometheus_sink_refused_instances_total,metric=test_capped,reason=missing_label 1',
      '__name__=mygrpcadapter_prometheus_sink_refused_instances_total,metric=test_capped,reason=not_numeric 1',
      '__name__=mygrpcadapter_prometheus_sink_refused_instances_total,metric=test_capped,reason=series_cap 1',
      '__name__=mygrpcadapter_prometheus_sink_refused_instances_total,reason=no_metric 1',
    ]);
    const logs = other.logs();
    expect(logs).toContain('prometheus sink did not apply an instance: series_cap (test_capped)');
    expect(logs).toContain('prometheus sink did not apply an instance: not_numeric (test_capped)');
    expect(logs).toContain('prometheus sink did not apply an instance: missing_label (test_capped)');
  }, 60_000);

  it('an idle series expires (and leaves Prometheus) while a busy one stays', async () => {
    const expiring = 'expiring.instance.istio-system';
    await other.clients.metric(gaugeCall(EXPIRING, expiring, 'idle', int(5)));
    await until(
      'the idle series scraped',
      async () => (await prometheus.query('test_expiring{k="idle"}')).length === 1,
    );
    // Keep "busy" fresh until "idle" is gone from Prometheus.
    const end = Date.now() + 30_000;
    for (;;) {
      await other.clients.metric(gaugeCall(EXPIRING, expiring, 'busy', int(7)));
      if ((await prometheus.query('test_expiring{k="idle"}')).length === 0) break;
      if (Date.now() > end) throw new Error(`the idle series never left: ${prometheus.output()}`);
      await sleep(250);
    }
    expect(await samples('test_expiring')).toEqual(['__name__=test_expiring,k=busy 7']);
    await until(
      'the expiry counted',
      async () =>
        (await prometheus.query('mygrpcadapter_prometheus_sink_expired_series_total{metric="test_expiring"} >= 1'))
          .length === 1,
    );
  }, 60_000);
});

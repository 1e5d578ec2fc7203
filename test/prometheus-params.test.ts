// Params fields 10-12 (the Prometheus sink): what Mixer 1.6.14 encodes
// (realmixer fixture) decodes to the settings the handler YAML says; bad
// settings are refused all at once, each naming its field.
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/common/errors.js';
import { decodeParams } from '../src/core/params/params.js';
import { MAX_SERIES_PER_METRIC } from '../src/core/params/prometheus-params.js';
import { decodeMetricRequest } from '../src/frontends/mixer/request.js';
import type { Params } from '../src/generated/adapter/mygrpcadapter/config/Params.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { ROOT, runBin } from './helpers/cli.js';
import { tempDir } from './helpers/opconfig.js';
import { int, str } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

const SINKS = ['file', 'stdout', 'prometheus'];

function problems(params: Params): string {
  try {
    decodeParams(paramsAny(params), SINKS);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as Error).message;
  }
  throw new Error('expected the Params to be refused');
}

describe('Params of the Prometheus sink', () => {
  it("decodes Mixer 1.6.14's encoding of nested, repeated, enum and oneof params (realmixer fixture)", () => {
    const dump = readFileSync(path.join(ROOT, 'test/fixtures/realmixer-prometheus/calls.dump'), 'utf8');
    const [, hex] = dump.split('\n')[0]!.split(' ');
    const req = decodeMetricRequest(Buffer.from(hex!, 'hex'));
    const config = decodeParams(req.adapter_config, SINKS);
    expect(config.sink).toBe('prometheus');
    const dest = ['destination_service'];
    expect(config.prometheus).toEqual({
      metrics: [
        {
          fullName: 'fixture_requests_total',
          instanceName: 'fxcount.instance.istio-system',
          help: 'Requests seen by the fixture',
          kind: 'COUNTER',
          labelNames: ['destination_service', 'response_code'],
          buckets: [],
        },
        {
          fullName: 'istio_request_bytes',
          instanceName: 'fxsize.instance.istio-system',
          help: 'Values of the metric instance fxsize.instance.istio-system',
          kind: 'DISTRIBUTION',
          labelNames: dest,
          buckets: [100, 1000, 10000],
        },
        {
          fullName: 'istio_request_duration_seconds',
          instanceName: 'fxduration.instance.istio-system',
          help: 'Values of the metric instance fxduration.instance.istio-system',
          kind: 'DISTRIBUTION',
          labelNames: dest,
          buckets: [0.05, 0.1, 0.15, 0.2, 0.25],
        },
        {
          fullName: 'istio_response_bytes',
          instanceName: 'fxresponse.instance.istio-system',
          help: 'Values of the metric instance fxresponse.instance.istio-system',
          kind: 'DISTRIBUTION',
          labelNames: dest,
          buckets: [10, 100, 1000, 10000],
        },
        {
          fullName: 'istio_last_request_bytes',
          instanceName: 'fxlast.instance.istio-system',
          help: 'Values of the metric instance fxlast.instance.istio-system',
          kind: 'GAUGE',
          labelNames: dest,
          buckets: [],
        },
      ],
      expiryMs: 3_600_000,
      checkIntervalMs: 60_000,
      maxSeriesPerMetric: 100,
    });
  });

  it('names the sanitised instance when a metric has no name', () => {
    const config = decodeParams(
      paramsAny({ sink: 'prometheus', metrics: [{ instance_name: 'rq.instance.ns-1', kind: 'COUNTER' }] }),
      SINKS,
    );
    expect(config.prometheus?.metrics[0]?.fullName).toBe('istio_rq_instance_ns_1');
    expect(config.prometheus?.expiryMs).toBe(0);
  });

  it('lists every problem at once, each naming its field', () => {
    const message = problems({
      sink: 'prometheus',
      metrics: [
        { name: 'a', instance_name: 'a.instance.ns', kind: 'UNSPECIFIED' },
        { name: 'b', instance_name: 'b.instance.ns', kind: 'DISTRIBUTION' },
        { name: 'c', instance_name: 'c.instance.ns', kind: 'GAUGE', label_names: ['ok', '__reserved', 'ok'] },
        {
          name: 'd',
          instance_name: 'd.instance.ns',
          kind: 'DISTRIBUTION',
          buckets: { explicit_buckets: { bounds: [1, 1] } },
        },
        {
          name: 'e',
          instance_name: 'e.instance.ns',
          kind: 'DISTRIBUTION',
          buckets: { linear_buckets: { num_finite_buckets: 3, width: 0 } },
        },
        { name: 'a', instance_name: 'a.instance.ns', kind: 'COUNTER' },
        { name: 'bad-name', kind: 'COUNTER' },
      ],
      metrics_expiration_policy: { metrics_expiry_duration: 'soon', expiry_check_interval_duration: '0s' },
      max_series_per_metric: -1,
    });
    for (const expected of [
      'metrics[0].kind: expected one of GAUGE, COUNTER, DISTRIBUTION, got "UNSPECIFIED"',
      'metrics[1].buckets: DISTRIBUTION needs linear_buckets, exponential_buckets or explicit_buckets',
      'metrics[2].label_names[1]: "__reserved" is not a valid Prometheus label name',
      'metrics[2].label_names[2]: "ok" appears twice',
      'metrics[3].buckets.explicit_buckets.bounds: must be finite and strictly increasing, got [1, 1]',
      'metrics[4].buckets.linear_buckets.width: must be greater than 0, got 0',
      'metrics[5]: the name "istio_a" is used twice',
      'metrics[5].instance_name: "a.instance.ns" already feeds another metric',
      'metrics[6].instance_name: required',
      'metrics[6]: "istio_bad-name" (namespace_name) is not a valid Prometheus metric name',
      'metrics_expiration_policy.metrics_expiry_duration: expected a duration such as "10m", got "soon"',
      'metrics_expiration_policy.expiry_check_interval_duration: must be greater than 0',
      'max_series_per_metric: must not be negative, got -1',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('refuses max_series_per_metric above its maximum, naming it', () => {
    const metrics = [{ instance_name: 'a.instance.ns', kind: 'COUNTER' as const }];
    expect(problems({ sink: 'prometheus', metrics, max_series_per_metric: MAX_SERIES_PER_METRIC + 1 })).toContain(
      `max_series_per_metric: at most 100000, got ${MAX_SERIES_PER_METRIC + 1}`,
    );
    expect(problems({ sink: 'prometheus', metrics, max_series_per_metric: 2147483647 })).toContain(
      'max_series_per_metric: at most 100000, got 2147483647',
    );
    const config = decodeParams(
      paramsAny({ sink: 'prometheus', metrics, max_series_per_metric: MAX_SERIES_PER_METRIC }),
      SINKS,
    );
    expect(config.prometheus?.maxSeriesPerMetric).toBe(MAX_SERIES_PER_METRIC);
  });

  it('refuses the fields under another sink, where they would do nothing', () => {
    expect(
      problems({ file_path: 'out.txt', metrics: [{ instance_name: 'a.instance.ns', kind: 'COUNTER' }] }),
    ).toContain(
      'metrics, metrics_expiration_policy, max_series_per_metric: only used with sink "prometheus" (sink is "file")',
    );
    expect(problems({ sink: 'prometheus' })).toContain('metrics: sink "prometheus" needs at least one metric');
  });
});

describe('sink "prometheus" in the adapter', () => {
  let withPort: TestAdapter;
  let without: TestAdapter;
  beforeAll(async () => {
    withPort = await startTestAdapter({ logLevel: 'silent', prometheusPort: 0 });
    without = await startTestAdapter({ logLevel: 'silent' });
  });
  afterAll(async () => {
    await withPort.stop();
    await without.stop();
  });

  const call = (params: Params) => ({
    instances: [{ name: 'm.instance.ns', value: int(1), dimensions: { k: str('v') } }],
    adapter_config: paramsAny(params),
  });

  it('is a sink type only with --prometheus-port', async () => {
    const err = await rpcError(
      without.clients.metric(
        call({ sink: 'prometheus', metrics: [{ instance_name: 'm.instance.ns', kind: 'COUNTER' }] }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(
      'sink: "prometheus" is not enabled in this adapter: start it with --prometheus-port PORT (enabled here: file, stdout)',
    );
  });

  it('two handler configurations that define one metric differently: FAILED_PRECONDITION for the second', async () => {
    const counter: Params = {
      sink: 'prometheus',
      metrics: [{ name: 'shared', instance_name: 'm.instance.ns', kind: 'COUNTER', label_names: ['k'] }],
    };
    await withPort.clients.metric(call(counter));
    const gauge: Params = {
      sink: 'prometheus',
      metrics: [{ name: 'shared', instance_name: 'm.instance.ns', kind: 'GAUGE', label_names: ['k'] }],
    };
    const err = await rpcError(withPort.clients.metric(call(gauge)));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(
      'metric istio_shared is already defined differently by another handler configuration (COUNTER of m.instance.ns with labels [k])',
    );
    // The same definition in another configuration (another params byte string) shares the metric.
    await withPort.clients.metric(call({ ...counter, metrics_expiration_policy: null, auth_key: '' }));
    await withPort.clients.metric(call({ ...counter, valid_use_count: 3 }));
    const text = await (await fetch(`http://127.0.0.1:${withPort.adapter.prometheusPort!}/metrics`)).text();
    expect(text).toContain('istio_shared{k="v"} 3');
  });
});

describe('lint and the Prometheus sample', () => {
  const shipped = ['attributes', 'metric', 'authorization', 'mygrpcadapter'].map((f) =>
    path.join(ROOT, `operatorconfig/${f}.yaml`),
  );
  const sample = path.join(ROOT, 'operatorconfig/prometheus_sample.yaml');

  it('passes the shipped sample handler, instances and rule', async () => {
    const r = await runBin(['lint', ...shipped, sample]);
    expect(r.stdout).toContain('0 error(s), 0 warning(s)');
    expect(r.code).toBe(0);
  });

  it('names a misspelt kind and an unknown nested key, as Mixer would refuse them', async () => {
    const dir = await tempDir('lint-prometheus-');
    try {
      const bad = readFileSync(sample, 'utf8')
        .replace('kind: COUNTER', 'kind: COUNTR')
        .replace('growth_factor:', 'growth:');
      await writeFile(path.join(dir, 'bad.yaml'), bad);
      const r = await runBin(['lint', ...shipped, path.join(dir, 'bad.yaml')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        'spec.params.metrics[0].kind: expected one of UNSPECIFIED, GAUGE, COUNTER, DISTRIBUTION, got "COUNTR"',
      );
      expect(r.stdout).toContain('spec.params.metrics[1].buckets.exponential_buckets.growth: unknown key "growth"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lint and plug-in sink names', () => {
  const shipped = ['attributes', 'metric', 'authorization', 'mygrpcadapter'].map((f) =>
    path.join(ROOT, `operatorconfig/${f}.yaml`),
  );
  const example = path.join(ROOT, 'examples/http-sink/operator_local.yaml');

  it('refuses an unknown sink name, saying how to name a plug-in', async () => {
    const r = await runBin(['lint', ...shipped, example]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'spec.params.sink: expected one of file, stdout, prometheus (or empty), got "http"; the adapter answers INVALID_ARGUMENT to every call (a --sink-module plug-in? name it with lint --sink NAME)',
    );
  });

  it('accepts it with lint --sink NAME', async () => {
    const r = await runBin(['lint', '--sink', 'http', ...shipped, example]);
    expect(r.stdout).toContain('0 error(s), 0 warning(s)');
    expect(r.code).toBe(0);
  });
});

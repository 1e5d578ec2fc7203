import { describe, expect, it } from 'vitest';
import {
  authorizationInput,
  authorizationRecord,
  metricRecord,
  type CallContext,
} from '../src/frontends/mixer/instance.js';
import { decodeParams } from '../src/core/params/params.js';
import { formatJson } from '../src/format/json.js';
import { encodeText, formatText } from '../src/format/text.js';
import type { InstanceMsg } from '../src/generated/metric/InstanceMsg.js';
import { authorize } from '../src/core/authorize.js';
import type { AuthorizationRecord, MetricRecord } from '../src/record/types.js';
import { SINK_TYPES } from '../src/sinks/registry.js';
import { paramsAny, type ParamsFields } from './helpers/clients.js';
import { expectGolden } from './helpers/golden.js';
import { bool, dbl, dns, dur, email, int, ip, smap, str, ts, uri } from './helpers/values.js';
import { authorizationRequestOnWire, metricRequestOnWire } from './helpers/wire.js';

function context(params: ParamsFields | null): CallContext {
  const config = decodeParams(params ? paramsAny(params) : null, SINK_TYPES);
  return { dedupId: '899657512539659575', receivedAt: '2026-11-21T08:00:00.000Z', config: config.view };
}

function metricRecords(instances: InstanceMsg[], params: ParamsFields | null): MetricRecord[] {
  const ctx = context(params);
  return metricRequestOnWire({ instances }).instances.map((i, n) => metricRecord(i, n, ctx));
}

const walkthrough: InstanceMsg = {
  name: 'i1metric.instance.istio-system',
  value: int(1235),
  dimensions: { response_code: int(200) },
};

const mixed: InstanceMsg[] = [
  walkthrough,
  {
    name: 'i2metric.instance.istio-system',
    value: dbl(1e6),
    dimensions: {
      destination_service: str('myservice'),
      source_ip: ip([10, 1, 2, 3]),
      destination_ip: ip([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]),
      request_time: ts(1_700_000_000, 250_000_000),
      response_duration: dur(0, 1_500_000),
      user: email('dev@example.com'),
      host: dns('reviews.default.svc.cluster.local'),
      url: uri('http://reviews:9080/reviews/0'),
      ok: bool(true),
      ratio: dbl(0.25),
      headers: smap({ 'x-b': '2', 'x-a': '1' }),
      big: int('9007199254740993'),
    },
    monitored_resource_type: 'k8s_container',
    monitored_resource_dimensions: { pod: str('reviews-v1-abc') },
  },
  { name: 'i3metric.instance.istio-system', value: str('a string'), dimensions: {} },
  { name: 'i4metric.instance.istio-system', value: {}, dimensions: { empty: {} } },
];

describe('text format', () => {
  it("reproduces the walkthrough's out.txt block byte for byte", () => {
    const text = formatText(metricRecords([walkthrough], { file_path: 'out.txt' }));
    expect(text).toBe(
      'HandleMetric invoked with:\n' +
        '  Adapter config: &Params{FilePath:out.txt,}\n' +
        "  Instances: 'i1metric.instance.istio-system':\n" +
        '  {\n' +
        '\t\tValue = 1235\n' +
        '\t\tDimensions = map[response_code:200]\n' +
        '  }\n',
    );
    expectGolden('walkthrough.txt', text);
  });

  it('prints &Params{FilePath:,} when the config is absent, as the Go sample does', () => {
    expect(formatText(metricRecords([walkthrough], null))).toContain('  Adapter config: &Params{FilePath:,}\n');
  });

  it('puts consecutive instances one after another with no separator', () => {
    const text = formatText(
      metricRecords(
        [
          { name: 'a', value: int(1), dimensions: {} },
          { name: 'b', value: int(2), dimensions: {} },
        ],
        { file_path: 'out.txt' },
      ),
    );
    expect(text).toContain("  Instances: 'a':\n  {\n\t\tValue = 1\n\t\tDimensions = map[]\n  }'b':\n");
  });

  it('masks auth_key in the Adapter config line', () => {
    const text = formatText(metricRecords([walkthrough], { file_path: 'out.txt', auth_key: 's3cret' }));
    expect(text).toContain('&Params{FilePath:out.txt,AuthKey:***,}');
    expect(text).not.toContain('s3cret');
  });

  it('golden: mixed value kinds', () => {
    expectGolden(
      'metric-mixed.txt',
      formatText(metricRecords(mixed, { file_path: 'out.txt', format: 'text', valid_use_count: 2 })),
    );
  });
});

function decided(token: string | undefined, params: ParamsFields): AuthorizationRecord {
  const ctx = context(params);
  const config = decodeParams(paramsAny(params), SINK_TYPES);
  const req = authorizationRequestOnWire({
    instance: {
      name: 'icheck.instance.istio-system',
      subject: {
        user: 'alice',
        groups: 'admins',
        properties: token === undefined ? {} : { custom_token_header: str(token), source_ip: ip([127, 0, 0, 1]) },
      },
      action: { namespace: 'default', service: 'reviews', method: 'GET', path: '/reviews/0', properties: {} },
    },
  });
  const input = authorizationInput(req.instance!);
  return authorizationRecord(input, authorize(config, input.subject).decision, ctx);
}

describe('authorization records', () => {
  const params = { file_path: 'out.txt', auth_key: 'abc', valid_duration: '5s', valid_use_count: 100 };

  it('golden: text block for an allow and a deny', () => {
    const text = formatText([decided('abc', params), decided('wrong', params)]);
    expect(text).not.toContain('abc');
    expect(text).not.toContain('wrong');
    expectGolden('authorization.txt', text);
  });

  it('encodes a check straight into the bytes of its text, whatever the characters', () => {
    const records = [decided('abc', params), decided('wrong', params), decided(undefined, params)];
    expect(encodeText(records)).toEqual(Buffer.from(formatText(records)));
    // Past the encoder's first scratch size, and beyond ASCII and the BMP.
    const wide = decided('abc', params);
    wide.subject!.properties.values['\u00e9t\u00e9 \u{1F600}'] = '\u4e2d'.repeat(3000);
    wide.subject!.properties.kinds['\u00e9t\u00e9 \u{1F600}'] = 'STRING';
    expect(encodeText([wide])).toEqual(Buffer.from(formatText([wide])));
    expect(encodeText([decided('abc', params)])).toEqual(Buffer.from(formatText([decided('abc', params)])));
    // Records with metrics go through formatText.
    const mixedCall = [...metricRecords([walkthrough], { file_path: 'out.txt' }), decided('abc', params)];
    expect(encodeText(mixedCall)).toEqual(Buffer.from(formatText(mixedCall)));
  });

  it('golden: JSON lines for an allow, a deny and a missing property', () => {
    const json = formatJson([decided('abc', params), decided('wrong', params), decided(undefined, params)]);
    expect(json).not.toContain('abc');
    expectGolden('authorization.jsonl', json);
  });
});

describe('json format', () => {
  it('golden: one object per record, each line valid JSON', () => {
    const json = formatJson(metricRecords(mixed, { file_path: 'out.txt', format: 'json' }));
    const lines = json.trimEnd().split('\n');
    expect(lines).toHaveLength(mixed.length);
    const second = JSON.parse(lines[1]!);
    expect(second.value).toBe(1e6);
    expect(second.types.value).toBe('DOUBLE');
    expect(second.dimensions.big).toBe('9007199254740993');
    expect(second.dimensions.source_ip).toBe('10.1.2.3');
    expect(JSON.parse(lines[3]!).value).toBeNull();
    expectGolden('metric-mixed.jsonl', json);
  });
});

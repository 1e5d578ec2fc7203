// The direct HandleMetricRequest decoder against proto-loader's, which it
// must match object for object: typical batches, every Value member and edge
// number, merged (concatenated) messages, and mutated bytes.
import { describe, expect, it } from 'vitest';
import type { HandleMetricRequest__Output } from '../src/generated/metric/HandleMetricRequest.js';
import { METRIC_SERVICE, protoRoot } from '../src/wire/load.js';
import { decodeMetricFast } from '../src/frontends/mixer/metric-request.js';
import { fastWithFallback, prng, referenceDeserializer, sameOrInvalidUtf8 } from './helpers/differential.js';

type Deserialize = (buf: Buffer) => HandleMetricRequest__Output;

const reference: Deserialize = referenceDeserializer(METRIC_SERVICE, 'HandleMetric');

/** The fast path alone: fails the test instead of falling back. */
const fastOnly = fastWithFallback(decodeMetricFast, () => {
  throw new Error('fell back to proto-loader');
});
const withFallback = fastWithFallback(decodeMetricFast, reference);

const requestType = protoRoot().lookupType('metric.HandleMetricRequest');
const encode = (req: object): Buffer => Buffer.from(requestType.encode(requestType.fromObject(req)).finish());

const yardstickInstance = (i: number): object => ({
  name: 'i1metric.instance.istio-system',
  value: { int64_value: 1000 + i },
  dimensions: {
    response_code: { int64_value: 200 },
    request_size: { int64_value: 1235 + i },
    destination_service: { string_value: 'details.default.svc.cluster.local' },
    source_service: { string_value: 'productpage.default.svc.cluster.local' },
  },
});

const everyMember = {
  instances: [
    {
      name: 'every.instance.istio-system',
      value: { double_value: -0 },
      monitored_resource_type: 'k8s_container',
      monitored_resource_dimensions: { pod: { string_value: 'pod-ü-\u{1F600}' }, none: {} },
      dimensions: {
        s: { string_value: '' },
        s2: { string_value: 'héllo \u{10000}' },
        i0: { int64_value: 0 },
        i1: { int64_value: -1 },
        i49: { int64_value: '562949953421311' },
        i49b: { int64_value: '562949953421312' },
        i53: { int64_value: '9007199254740993' },
        imax: { int64_value: '9223372036854775807' },
        imin: { int64_value: '-9223372036854775808' },
        d: { double_value: 1e6 },
        dnan: { double_value: NaN },
        dinf: { double_value: -Infinity },
        bt: { bool_value: true },
        bf: { bool_value: false },
        ip4: { ip_address_value: { value: Buffer.from([10, 0, 0, 1]) } },
        ip16: { ip_address_value: { value: Buffer.alloc(16, 1) } },
        ipEmpty: { ip_address_value: {} },
        ts: { timestamp_value: { value: { seconds: 1_700_000_000, nanos: 5 } } },
        tsNeg: { timestamp_value: { value: { seconds: -62135596800, nanos: 0 } } },
        tsEmpty: { timestamp_value: {} },
        tsZero: { timestamp_value: { value: {} } },
        dur: { duration_value: { value: { seconds: -1, nanos: -500_000_000 } } },
        email: { email_address_value: { value: 'a@b.c' } },
        emailEmpty: { email_address_value: {} },
        dns: { dns_name_value: { value: 'example.com' } },
        uri: { uri_value: { value: 'https://example.com/x?y' } },
        map: { string_map_value: { value: { b: '2', a: '1', '10': 'ten' } } },
        mapEmpty: { string_map_value: {} },
        '200': { string_value: 'integer-like key' },
        unset: {},
      },
    },
    {},
    { name: 'no-value.instance.istio-system', dimensions: { x: { int64_value: 7 } } },
  ],
  adapter_config: {
    type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params',
    value: Buffer.from([10, 1, 97]),
  },
  dedup_id: '899657512539659575',
};

describe('decodeMetricFast, with the reference decoder for what it leaves', () => {
  it('decodes a yardstick batch on the fast path, equal to proto-loader', () => {
    const buf = encode({
      instances: Array.from({ length: 100 }, (_, i) => yardstickInstance(i)),
      adapter_config: { type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params' },
      dedup_id: '1',
    });
    expect(fastOnly(buf)).toEqual(reference(buf));
  });

  it('decodes every Value member and edge number on the fast path, equal to proto-loader', () => {
    const buf = encode(everyMember);
    const fast = fastOnly(buf);
    expect(fast).toEqual(reference(buf));
    // Key order of maps is what the JSON format prints.
    expect(Object.keys(fast.instances[0]!.dimensions)).toEqual(Object.keys(reference(buf).instances[0]!.dimensions));
  });

  it('decodes an empty request', () => {
    expect(fastOnly(Buffer.alloc(0))).toEqual(reference(Buffer.alloc(0)));
  });

  it('merges concatenated messages as proto-loader does (instances append, the last scalar wins)', () => {
    const buf = Buffer.concat([
      encode(everyMember),
      encode({ instances: [yardstickInstance(1)], adapter_config: { type_url: 'other' }, dedup_id: '2' }),
    ]);
    expect(fastOnly(buf)).toEqual(reference(buf));
  });

  it('falls back to proto-loader for fields it does not know', () => {
    const unknownField = Buffer.from([0x78, 0x01]); // field 15, varint 1
    const buf = Buffer.concat([encode(everyMember), unknownField]);
    expect(() => fastOnly(buf)).toThrow(/fell back/);
    expect(withFallback(buf)).toEqual(reference(buf));
  });

  it('gives the same result or the same failure as proto-loader for mutated bytes', () => {
    const random = prng(6);
    for (const original of [encode(everyMember), encode({ instances: [yardstickInstance(0), yardstickInstance(1)] })]) {
      for (let round = 0; round < 1500; round++) {
        const buf = Buffer.from(original);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
        const cut = random() < 0.2 ? buf.subarray(0, Math.floor(random() * buf.length)) : buf;
        expect(sameOrInvalidUtf8(withFallback, reference, requestType, cut)).toBe(true);
      }
    }
  });
});

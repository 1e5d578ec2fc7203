// A map entry without its value is valid proto3 (a missing field is its
// default). It used to be refused with protobufjs's leaked TypeError text
// ("Cannot read properties of null"); it is now an unset value, on the fast
// wire decoder and on the reference decoder it falls back to.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTHORIZATION_METHOD_PATH,
  AUTHORIZATION_SERVICE,
  METRIC_METHOD_PATH,
  METRIC_SERVICE,
} from '../src/wire/load.js';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { paramsAny, rawStatus } from './helpers/clients.js';
import { outcome, prng, protoLoaderDeserializer, referenceDeserializer } from './helpers/differential.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { protoRoot, serviceDefinitions } from '../src/wire/load.js';
import { decodeMetricRequest } from '../src/frontends/mixer/request.js';
import type { MetricRecord } from '../src/record/types.js';
import { int, str } from './helpers/values.js';

let t: TestAdapter;
let raw: grpc.Client;
const sinkControl = memorySinkControl();

beforeAll(async () => {
  t = await startTestAdapter(
    { logLevel: 'silent' },
    { memory: (_s, env) => Promise.resolve(new MemorySink(sinkControl, env.buffer)) },
  );
  raw = new grpc.Client(`127.0.0.1:${t.adapter.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  raw.close();
  await t.stop();
});

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
const len = (field: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(body.length)]), body]);
const keyOnly = (key: string): Buffer => len(1, Buffer.from(key)); // a map entry with its key and no value
/** Field 15, varint: unknown to every message here, so the fast decoder falls back. */
const UNKNOWN_FIELD = Buffer.from([0x78, 0x01]);

const metric = serviceDefinitions().metric.HandleMetric;
const authorization = serviceDefinitions().authorization.HandleAuthorization;
const memoryConfig = paramsAny({ sink: 'memory' });

/** HandleMetricRequest: one instance whose dimensions hold `entry` (field 2) beside a normal one. */
function metricWith(entry: Buffer, tail = Buffer.alloc(0)): Buffer {
  const type = protoRoot().lookupType('metric.InstanceMsg');
  const instance = type.encode(
    type.fromObject({ name: 'm.instance.istio-system', value: int(1), dimensions: { ok: int(2) } }),
  );
  return Buffer.concat([
    len(1, Buffer.concat([instance.finish(), len(2, entry)])),
    metric.requestSerialize({ adapter_config: memoryConfig }),
    tail,
  ]);
}

describe('a map entry without its value', () => {
  for (const [path, tail] of [
    ['fast', Buffer.alloc(0)],
    ['fallback', UNKNOWN_FIELD],
  ] as const) {
    it(`is an unset dimension (${path} decoder), over the wire`, async () => {
      sinkControl.records.length = 0;
      const answer = await rawStatus(raw, METRIC_METHOD_PATH, metricWith(keyOnly('empty'), tail));
      expect(answer).toEqual({ code: grpc.status.OK, details: '' });
      const record = sinkControl.records.at(-1) as MetricRecord;
      expect(record.dimensions).toEqual({
        values: { ok: 2, empty: null },
        kinds: { ok: 'INT64', empty: 'VALUE_TYPE_UNSPECIFIED' },
      });
    });
  }

  it('is an unset subject property of an authorization instance, over the wire', async () => {
    const subject = Buffer.concat([len(3, keyOnly('custom_token_header'))]);
    const instance = len(1, subject);
    const body = Buffer.concat([
      len(1, instance),
      Buffer.from(authorization.requestSerialize({ adapter_config: paramsAny({ sink: 'memory', auth_key: 'k' }) })),
    ]);
    const answer = await rawStatus(raw, AUTHORIZATION_METHOD_PATH, body);
    expect(answer).toEqual({ code: grpc.status.OK, details: '' });
  });

  it('with neither key nor value is the empty key with an unset value', () => {
    const decoded = decodeMetricRequest(metricWith(Buffer.alloc(0)));
    expect(decoded.instances[0]!.dimensions['']).toEqual({});
  });
});

describe('the reference decoder', () => {
  it('equals proto-loader wherever proto-loader decodes, for mutated bytes', () => {
    const random = prng(12);
    const cases = [
      [
        protoLoaderDeserializer(METRIC_SERVICE, 'HandleMetric'),
        referenceDeserializer(METRIC_SERVICE, 'HandleMetric'),
        metricWith(keyOnly('x')),
      ],
      [
        protoLoaderDeserializer(AUTHORIZATION_SERVICE, 'HandleAuthorization'),
        referenceDeserializer(AUTHORIZATION_SERVICE, 'HandleAuthorization'),
        Buffer.from(
          authorization.requestSerialize({
            instance: { name: 'c', subject: { user: 'u', properties: { a: str('b') } } },
            adapter_config: memoryConfig,
          }),
        ),
      ],
    ] as const;
    let compared = 0;
    for (const [loader, reference, original] of cases) {
      for (let round = 0; round < 1000; round++) {
        const buf = Buffer.from(original);
        buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
        const expected = outcome(loader, buf);
        if ('threw' in expected) continue;
        compared++;
        expect(outcome(reference, buf)).toEqual(expected);
      }
    }
    expect(compared).toBeGreaterThan(100);
  });
});

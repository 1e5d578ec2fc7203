// Hostile and extreme input: the server always answers with a status, never
// crashes, never leaks a rejection, and serves the next good call.
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Value } from '../src/generated/istio/policy/v1beta1/Value.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH } from '../src/wire/load.js';
import { memorySinkControl, MemorySink } from '../src/sinks/memory.js';
import { paramsAny, rawStatus } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int, str } from './helpers/values.js';

let t: TestAdapter;
let raw: grpc.Client;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const sinkControl = memorySinkControl();

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  t = await startTestAdapter(
    { maxMessageBytes: 64 * 1024 * 1024, logLevel: 'silent' },
    { memory: (_s, env) => Promise.resolve(new MemorySink(sinkControl, env.buffer)) },
  );
  raw = new grpc.Client(`127.0.0.1:${t.adapter.port}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
});

afterAll(async () => {
  raw.close();
  await t.stop();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

async function stillServes(): Promise<void> {
  await t.clients.metric({
    instances: [{ name: 'good', value: int(1) }],
    adapter_config: paramsAny({ sink: 'memory' }),
  });
}

const ANSWERS = [grpc.status.OK, grpc.status.INVALID_ARGUMENT];

describe('random bytes as the request body', () => {
  it.each([METRIC_METHOD_PATH, AUTHORIZATION_METHOD_PATH])('%s answers OK or INVALID_ARGUMENT', async (method) => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const { code } = await rawStatus(raw, method, Buffer.from(bytes));
        expect(ANSWERS).toContain(code);
      }),
      { numRuns: 300 },
    );
    await stillServes();
  });
});

interface Generated {
  value: Value;
  valid: boolean;
}

const MAX_TS = 253402300799;
const MIN_TS = -62135596800;
const MAX_DUR = 315576000000;

const valueArb: fc.Arbitrary<Generated> = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }).map((s) => ({ value: str(s), valid: true })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ value: int(n.toString()), valid: true })),
  fc.double().map((d) => ({ value: { double_value: d }, valid: true })),
  fc.boolean().map((b) => ({ value: { bool_value: b }, valid: true })),
  fc.uint8Array({ maxLength: 20 }).map((b) => ({
    value: { ip_address_value: { value: Buffer.from(b) } },
    valid: b.length === 4 || b.length === 16,
  })),
  fc
    .record({ s: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), n: fc.integer({ min: -2e9, max: 2e9 }) })
    .map(({ s, n }) => ({
      value: { timestamp_value: { value: { seconds: s.toString(), nanos: n } } },
      valid: s >= BigInt(MIN_TS) && s <= BigInt(MAX_TS) && n >= 0 && n <= 999_999_999,
    })),
  fc
    .record({ s: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), n: fc.integer({ min: -2e9, max: 2e9 }) })
    .map(({ s, n }) => ({
      value: { duration_value: { value: { seconds: s.toString(), nanos: n } } },
      valid:
        s <= BigInt(MAX_DUR) &&
        s >= -BigInt(MAX_DUR) &&
        n >= -999_999_999 &&
        n <= 999_999_999 &&
        !(s > 0n && n < 0) &&
        !(s < 0n && n > 0),
    })),
  fc.string({ maxLength: 50 }).map((s) => ({ value: { email_address_value: { value: s } }, valid: true })),
  fc.string({ maxLength: 50 }).map((s) => ({ value: { dns_name_value: { value: s } }, valid: true })),
  fc.string({ maxLength: 50 }).map((s) => ({ value: { uri_value: { value: s } }, valid: true })),
  fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), { maxKeys: 30 }).map((m) => ({
    value: { string_map_value: { value: m } },
    valid: true,
  })),
  fc.constant({ value: {}, valid: true }),
);

describe('random valid requests with extreme values', () => {
  it('metric: OK exactly when every value is well-formed, INVALID_ARGUMENT otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ name: fc.string(), value: valueArb, dims: fc.dictionary(fc.string(), valueArb, { maxKeys: 8 }) }),
          {
            maxLength: 20,
          },
        ),
        async (instances) => {
          const valid = instances.every((i) => i.value.valid && Object.values(i.dims).every((d) => d.valid));
          const before = sinkControl.records.length;
          let code: number = grpc.status.OK;
          try {
            await t.clients.metric({
              instances: instances.map((i) => ({
                name: i.name,
                value: i.value.value,
                dimensions: Object.fromEntries(Object.entries(i.dims).map(([k, d]) => [k, d.value])),
              })),
              adapter_config: paramsAny({ sink: 'memory', format: 'json' }),
            });
          } catch (err) {
            code = (err as grpc.ServiceError).code;
          }
          expect(code).toBe(valid ? grpc.status.OK : grpc.status.INVALID_ARGUMENT);
          // All of a call or nothing of it.
          expect(sinkControl.records.length - before).toBe(valid ? instances.length : 0);
          for (const r of sinkControl.records.slice(before)) expect(() => JSON.stringify(r)).not.toThrow();
        },
      ),
      { numRuns: 200 },
    );
    await stillServes();
  });

  it('authorization: always a CheckResult or INVALID_ARGUMENT, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.record({ token: valueArb, props: fc.dictionary(fc.string(), valueArb, { maxKeys: 5 }) })),
        fc.string({ maxLength: 30 }),
        async (subject, key) => {
          try {
            const res = await t.clients.authorization({
              instance: subject
                ? {
                    name: 'p',
                    subject: {
                      properties: {
                        ...Object.fromEntries(Object.entries(subject.props).map(([k, v]) => [k, v.value])),
                        custom_token_header: subject.token.value,
                      },
                    },
                  }
                : undefined,
              adapter_config: paramsAny({ sink: 'memory', auth_key: key }),
            });
            expect([grpc.status.OK, grpc.status.PERMISSION_DENIED]).toContain(res.status?.code);
          } catch (err) {
            expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
          }
        },
      ),
      { numRuns: 200 },
    );
    await stillServes();
  });
});

describe('extreme sizes', () => {
  const memory = paramsAny({ sink: 'memory' });

  it('10,000 instances in one call', async () => {
    const before = sinkControl.records.length;
    await t.clients.metric({
      instances: Array.from({ length: 10_000 }, (_, i) => ({
        name: `n${i}`,
        value: int(i),
        dimensions: { code: int(200) },
      })),
      adapter_config: memory,
    });
    expect(sinkControl.records.length - before).toBe(10_000);
  });

  it('a dimension map with 20,000 entries and a string map with 20,000 keys', async () => {
    const dims = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, int(i)]));
    const big = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`h${i}`, `v${i}`]));
    await t.clients.metric({
      instances: [{ name: 'maps', value: { string_map_value: { value: big } }, dimensions: dims }],
      adapter_config: memory,
    });
    const last = sinkControl.records.at(-1)!;
    expect(last.template === 'metric' && Object.keys(last.dimensions.values)).toHaveLength(20_000);
  });

  it('a 4 MiB string value', async () => {
    await t.clients.metric({
      instances: [{ name: 'long', value: str('x'.repeat(4 * 1024 * 1024)) }],
      adapter_config: memory,
    });
    const last = sinkControl.records.at(-1)!;
    expect(last.template === 'metric' && (last.value as string).length).toBe(4 * 1024 * 1024);
  });

  it('an authorization call with no instance and one with an empty subject', async () => {
    const missing = await t.clients.authorization({ adapter_config: memory }).catch((e: grpc.ServiceError) => e.code);
    expect(missing).toBe(grpc.status.INVALID_ARGUMENT);
    const res = await t.clients.authorization({ instance: { name: 'e', subject: {} }, adapter_config: memory });
    expect(res.status?.code).toBe(grpc.status.PERMISSION_DENIED);
  });
});

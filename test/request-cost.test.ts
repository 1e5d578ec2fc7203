// The cost counted from a request's bytes before decoding must never be lower
// than what the decoder then builds, however the bytes are bent: that is what
// lets the server refuse a request before it allocates anything.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HandleAuthorizationRequest__Output } from '../src/generated/authorization/HandleAuthorizationRequest.js';
import type { Value__Output } from '../src/generated/istio/policy/v1beta1/Value.js';
import type { HandleMetricRequest__Output } from '../src/generated/metric/HandleMetricRequest.js';
import { AUTHORIZATION_SERVICE, METRIC_SERVICE, serviceDefinitions } from '../src/wire/load.js';
import { decodeMetricFast } from '../src/frontends/mixer/metric-request.js';
import { decodeAuthorizationFast } from '../src/frontends/mixer/authorization-request.js';
import { fastWithFallback, referenceDeserializer } from './helpers/differential.js';
import {
  authorizationRequestCost,
  estimatedDecodeBytes,
  maxEstimatedDecodeBytes,
  maxEstimatedWellFormedBytes,
  metricRequestCost,
  type RequestCost,
} from '../src/wire/request-cost.js';
import { smap, str } from './helpers/values.js';
import { decodeAuthorizationRequest, decodeMetricRequest } from '../src/frontends/mixer/request.js';
import { admitCost, CallTooLargeError } from '../src/core/call-cost.js';

const metric = serviceDefinitions().metric.HandleMetric;
const authorization = serviceDefinitions().authorization.HandleAuthorization;
/** The server's decoders without the strict check: the fast decoders, falling back to the reference. */
const decodeMetric = fastWithFallback(decodeMetricFast, referenceDeserializer(METRIC_SERVICE, 'HandleMetric'));
const decodeAuthorization = fastWithFallback(
  decodeAuthorizationFast,
  referenceDeserializer(AUTHORIZATION_SERVICE, 'HandleAuthorization'),
);

const keys = (m: Record<string, unknown> | null | undefined): number => Object.keys(m ?? {}).length;
const stringMapKeys = (v: Value__Output | null | undefined): number => keys(v?.string_map_value?.value);

function decodedMetric(req: HandleMetricRequest__Output): { instances: number; mapEntries: number } {
  let mapEntries = 0;
  for (const i of req.instances) {
    mapEntries += keys(i.dimensions) + keys(i.monitored_resource_dimensions) + stringMapKeys(i.value);
    for (const v of [...Object.values(i.dimensions), ...Object.values(i.monitored_resource_dimensions)]) {
      mapEntries += stringMapKeys(v);
    }
  }
  return { instances: req.instances.length, mapEntries };
}

function decodedAuthorization(req: HandleAuthorizationRequest__Output): number {
  const props = [req.instance?.subject?.properties, req.instance?.action?.properties];
  return props.reduce((n, p) => n + keys(p) + Object.values(p ?? {}).reduce((m, v) => m + stringMapKeys(v), 0), 0);
}

/** Decodes with the server's decoder; undefined when it refuses the bytes. */
function tryDecode<T>(decode: (b: Buffer) => T, bytes: Buffer): T | undefined {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

const valueArb = fc.oneof(
  fc.string({ maxLength: 8 }).map(str),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 5 }).map(smap),
  fc.constant({}),
);
const dimsArb = fc.dictionary(fc.string({ maxLength: 4 }), valueArb, { maxKeys: 5 });
const metricArb = fc.array(
  fc.record({
    name: fc.string({ maxLength: 6 }),
    value: valueArb,
    dimensions: dimsArb,
    monitored_resource_dimensions: dimsArb,
  }),
  { maxLength: 8 },
);

/** Flips, inserts and deletes a few bytes: wrong wire types, unknown fields, broken lengths. */
const mutated = (bytes: Buffer) =>
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })), { maxLength: 4 })
    .map((edits) => {
      const out = [...bytes];
      for (const [at, byte, op] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (op === 0 && out.length > 0) out[i] = byte;
        else if (op === 1) out.splice(i, 0, byte);
        else out.splice(i, 1);
      }
      return Buffer.from(out);
    });

describe('request cost', () => {
  it('metric: counts exactly what a well-formed request decodes to', () => {
    fc.assert(
      fc.property(metricArb, (instances) => {
        const bytes = metric.requestSerialize({ instances, dedup_id: 'd' });
        const cost = metricRequestCost(bytes);
        expect(cost).toEqual({ bytes: bytes.length, ...decodedMetric(decodeMetric(bytes)) });
      }),
      { numRuns: 300 },
    );
  });

  it('metric: never counts less than the decoder builds from bent bytes', () => {
    const arb = metricArb.chain((instances) => mutated(metric.requestSerialize({ instances })));
    fc.assert(
      fc.property(arb, (bytes) => {
        const decoded = tryDecode(decodeMetric, bytes);
        if (!decoded) return;
        const cost = metricRequestCost(bytes);
        const built = decodedMetric(decoded);
        expect(cost.instances).toBeGreaterThanOrEqual(built.instances);
        expect(cost.mapEntries).toBeGreaterThanOrEqual(built.mapEntries);
      }),
      { numRuns: 1000 },
    );
  });

  it('authorization: never counts fewer map entries than the decoder builds', () => {
    const arb = fc.record({ subject: dimsArb, action: dimsArb }).chain(({ subject, action }) =>
      mutated(
        authorization.requestSerialize({
          instance: {
            name: 'i',
            subject: { user: 'u', properties: subject },
            action: { path: '/', properties: action },
          },
        }),
      ),
    );
    fc.assert(
      fc.property(arb, (bytes) => {
        const decoded = tryDecode(decodeAuthorization, bytes);
        if (!decoded) return;
        expect(authorizationRequestCost(bytes).mapEntries).toBeGreaterThanOrEqual(decodedAuthorization(decoded));
      }),
      { numRuns: 1000 },
    );
  });

  it('counts an instance field sent with another wire type, as the decoder reads it', () => {
    // Field 1 as a varint: protobufjs still reads a length and an instance.
    const bytes = Buffer.from([0x08, 0x00, 0x08, 0x00, 0x0a, 0x00]);
    expect(decodedMetric(decodeMetric(bytes)).instances).toBe(3);
    expect(metricRequestCost(bytes).instances).toBe(3);
  });

  it('counts up to where the bytes stop making sense', () => {
    const bytes = Buffer.from([0x0a, 0x00, 0x0a, 0x00, 0x0a, 0x05, 0x00]);
    expect(metricRequestCost(bytes)).toEqual({ bytes: 7, instances: 3, mapEntries: 0 });
  });

  it('skips unknown fields and groups without losing count', () => {
    // instance, unknown group (field 20: start 0xa3 0x01, a varint inside, end 0xa4 0x01), instance
    const bytes = Buffer.from([0x0a, 0x00, 0xa3, 0x01, 0x08, 0x01, 0xa4, 0x01, 0x0a, 0x00]);
    expect(metricRequestCost(bytes).instances).toBe(2);
  });

  it('estimates memory from instances, map entries and bytes', () => {
    expect(estimatedDecodeBytes({ bytes: 1000, instances: 10, mapEntries: 20 })).toBe(1000 * 4 + 10 * 2048 + 20 * 512);
  });

  // The server skips the walk for requests whose length alone keeps them
  // under --max-decode-bytes: that is only sound if no bytes of that length
  // can be counted higher.
  it('no bytes are estimated above the bound their length sets', () => {
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      // Dense runs of instance and map-entry tags: the most counted per byte.
      fc.array(fc.constantFrom(0x0a, 0x12, 0x22, 0x00, 0x02, 0x04), { maxLength: 64 }).map((b) => Buffer.from(b)),
      metricArb.chain((instances) => mutated(metric.requestSerialize({ instances }))),
    );
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        for (const cost of [metricRequestCost(bytes), authorizationRequestCost(bytes)]) {
          expect(estimatedDecodeBytes(cost)).toBeLessThanOrEqual(maxEstimatedDecodeBytes(bytes.length));
        }
      }),
      { numRuns: 2000 },
    );
    // Empty instances (`0a 00`) come within a factor of two of it: the bound is not loose.
    const empties = Buffer.from('0a00'.repeat(50), 'hex');
    expect(estimatedDecodeBytes(metricRequestCost(empties))).toBeGreaterThanOrEqual(
      maxEstimatedDecodeBytes(empties.length) / 2,
    );
  });
});

/** What the server's decoder makes of `bytes` under the bound: decoded, refused as too large (with its message), or invalid. */
function bounded(decode: (b: Buffer, max: number) => unknown, bytes: Buffer, max: number): string {
  try {
    decode(bytes, max);
    return 'decoded';
  } catch (err) {
    return err instanceof CallTooLargeError ? `too large: ${err.message}` : 'invalid';
  }
}

/** What the cost walk alone says of `bytes` under the bound: admitted, or refused with its message. */
function walked(cost: (b: Buffer) => RequestCost, bytes: Buffer, max: number): string | undefined {
  try {
    admitCost(cost(bytes), max);
    return undefined;
  } catch (err) {
    return `too large: ${(err as Error).message}`;
  }
}

// Short requests are decoded without walking first, longer ones walked
// first, bent ones walked before the reference decoder: whichever, a call is
// refused exactly when the walk refuses it, with the walk's message.
describe('the decoders hold the bound the cost walk sets', () => {
  const decodeBoundedAuthorization = (b: Buffer, max: number) => decodeAuthorizationRequest(b, max);

  it('metric: a well-formed request is decoded at its estimate and refused one byte under, as the walk says', () => {
    fc.assert(
      fc.property(metricArb, (instances) => {
        const bytes = metric.requestSerialize({ instances, dedup_id: 'd' });
        const estimate = estimatedDecodeBytes(metricRequestCost(bytes));
        expect(bounded(decodeMetricRequest, bytes, estimate)).toBe('decoded');
        expect(bounded(decodeMetricRequest, bytes, estimate - 1)).toBe(walked(metricRequestCost, bytes, estimate - 1));
      }),
      { numRuns: 300 },
    );
  });

  it('authorization: the same', () => {
    const arb = fc.record({ subject: dimsArb, action: dimsArb }).map(({ subject, action }) =>
      authorization.requestSerialize({
        instance: { name: 'i', subject: { user: 'u', properties: subject }, action: { path: '/', properties: action } },
      }),
    );
    fc.assert(
      fc.property(arb, (bytes) => {
        const estimate = estimatedDecodeBytes(authorizationRequestCost(bytes));
        expect(bounded(decodeBoundedAuthorization, bytes, estimate)).toBe('decoded');
        expect(bounded(decodeBoundedAuthorization, bytes, estimate - 1)).toBe(
          walked(authorizationRequestCost, bytes, estimate - 1),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a string map running past its Value: the walk decides, as protobufjs reads it', () => {
    // instance { value (2 bytes): string_map_value of 6 bytes, whose 2 entries lie past the Value }:
    // the fast decoder reads both entries before it finds the overrun, the walk (as protobufjs) none.
    const bytes = Buffer.from('0a0a0a025a060a020a000a00', 'hex');
    const estimate = estimatedDecodeBytes(metricRequestCost(bytes));
    expect(metricRequestCost(bytes)).toEqual({ bytes: 12, instances: 1, mapEntries: 0 });
    expect(bounded(decodeMetricRequest, bytes, estimate)).toBe('invalid');
    expect(bounded(decodeMetricRequest, bytes, estimate - 1)).toBe(walked(metricRequestCost, bytes, estimate - 1));
  });

  // Requests up to this length are decoded without walking first: sound only
  // if nothing the fast decoder takes is estimated higher.
  it('no bytes the fast decoder takes are estimated above the bound their length sets for it', () => {
    // Instances at their smallest: empty, with empty dimensions, with an empty string map value.
    const denseInstance = fc.constantFrom('0a00', '0a021200', '0a0412001200', '0a040a025a00', '0a060a045a020a00');
    const anyBytes = fc.oneof(
      fc.array(denseInstance, { maxLength: 40 }).map((parts) => Buffer.from(parts.join(''), 'hex')),
      metricArb.map((instances) => metric.requestSerialize({ instances })),
      metricArb.chain((instances) => mutated(metric.requestSerialize({ instances }))),
    );
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        if (tryDecode(decodeMetricFast, bytes) === undefined) return;
        expect(estimatedDecodeBytes(metricRequestCost(bytes))).toBeLessThanOrEqual(
          maxEstimatedWellFormedBytes(bytes.length),
        );
      }),
      { numRuns: 2000 },
    );
    // Authorization: instances and subject and action properties at their smallest.
    const denseAuthorization = fc
      .array(fc.constantFrom('0a00', '0a040a021a00', '0a060a041a001a00', '0a0612042a002a00'), { maxLength: 40 })
      .map((parts) => Buffer.from(parts.join(''), 'hex'));
    fc.assert(
      fc.property(denseAuthorization, (bytes) => {
        if (tryDecode(decodeAuthorizationFast, bytes) === undefined) return;
        expect(estimatedDecodeBytes(authorizationRequestCost(bytes))).toBeLessThanOrEqual(
          maxEstimatedWellFormedBytes(bytes.length),
        );
      }),
      { numRuns: 500 },
    );
    // Empty instances (`0a 00`) reach it exactly: the bound is tight.
    const empties = Buffer.from('0a00'.repeat(50), 'hex');
    expect(estimatedDecodeBytes(metricRequestCost(empties))).toBe(maxEstimatedWellFormedBytes(empties.length));
  });

  it('bent bytes: refused as too large exactly when the walk refuses them, with its message', () => {
    const arb = metricArb
      .chain((instances) => mutated(metric.requestSerialize({ instances })))
      .chain((bytes) =>
        fc.tuple(fc.constant(bytes), fc.integer({ min: -3000, max: 3000 })).map(([b, delta]) => ({
          bytes: b,
          max: Math.max(0, estimatedDecodeBytes(metricRequestCost(b)) + delta),
        })),
      );
    fc.assert(
      fc.property(arb, ({ bytes, max }) => {
        const outcome = bounded(decodeMetricRequest, bytes, max);
        const walk = walked(metricRequestCost, bytes, max);
        if (walk !== undefined) expect(outcome).toBe(walk);
        else expect(outcome).not.toMatch(/^too large/);
      }),
      { numRuns: 1000 },
    );
  });
});

// A direct wire decoder for HandleMetricRequest, the adapter's hottest path
// (Mixer batches hundreds of instances per call): one pass, no protobufjs
// decode-then-toObject and no Long objects; proto-loader's deserializer stays
// the fallback (see wire-reader.ts).
import type { Any__Output } from '../../generated/google/protobuf/Any.js';
import type { HandleMetricRequest__Output } from '../../generated/metric/HandleMetricRequest.js';
import type { InstanceMsg__Output } from '../../generated/metric/InstanceMsg.js';
import {
  expectWire,
  FALL_BACK,
  INSTANCE_NAME_FIELD,
  LEN,
  Reader,
  readAny,
  emptyValue,
  readMapEntry,
  readValue,
  skipUnknown,
  withFallback,
} from '../../wire/wire-reader.js';

function readInstance(r: Reader): InstanceMsg__Output {
  const end = r.sub();
  const instance: InstanceMsg__Output = {
    name: '',
    value: null,
    dimensions: {},
    monitored_resource_type: '',
    monitored_resource_dimensions: {},
  };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const wire = r.wire;
    switch (field) {
      case INSTANCE_NAME_FIELD:
        expectWire(wire, LEN);
        instance.name = r.string();
        break;
      case 1:
        instance.value = readValue(r, wire);
        break;
      case 2: {
        expectWire(wire, LEN);
        readMapEntry(r, instance.dimensions, readValue, emptyValue);
        break;
      }
      case 3:
        expectWire(wire, LEN);
        instance.monitored_resource_type = r.string();
        break;
      case 4: {
        expectWire(wire, LEN);
        readMapEntry(r, instance.monitored_resource_dimensions, readValue, emptyValue);
        break;
      }
      default:
        throw FALL_BACK;
    }
  }
  if (r.pos !== end) throw FALL_BACK;
  return instance;
}

function decode(buf: Buffer): HandleMetricRequest__Output {
  const r = new Reader(buf, 0, buf.length);
  const req: HandleMetricRequest__Output = { instances: [], adapter_config: null, dedup_id: '' };
  while (r.pos < r.end) {
    r.tag();
    const field = r.field;
    const wire = r.wire;
    expectWire(wire, LEN);
    if (field === 1) req.instances.push(readInstance(r));
    else if (field === 2) req.adapter_config = readAny(r);
    else if (field === 3) req.dedup_id = r.string();
    else throw FALL_BACK;
  }
  return req;
}

/** The fast decoder, falling back to `slow` (proto-loader's) for anything it does not take. */
export function metricRequestDeserializer(
  slow: (buf: Buffer) => HandleMetricRequest__Output,
): (buf: Buffer) => HandleMetricRequest__Output {
  return withFallback(decode, slow);
}

/** What the server needs of a metric request before its instances are decoded. */
export interface MetricEnvelope {
  adapterConfig: Any__Output | null;
  dedupId: string;
  instanceCount: number;
}

/**
 * Reads the top level of a HandleMetricRequest, skipping over the instances:
 * enough to pick the handler while the instances are decoded elsewhere.
 * Undefined for anything off the fast path (the caller decodes it all inline).
 */
export function scanMetricEnvelope(buf: Buffer): MetricEnvelope | undefined {
  try {
    const r = new Reader(buf, 0, buf.length);
    const envelope: MetricEnvelope = { adapterConfig: null, dedupId: '', instanceCount: 0 };
    while (r.pos < r.end) {
      r.tag();
      // Unknown fields are skipped, as the decoder does: they must not push
      // a large request onto the main thread.
      if (r.field > 3) {
        skipUnknown(r);
        continue;
      }
      expectWire(r.wire, LEN);
      if (r.field === 1) {
        r.pos = r.sub();
        envelope.instanceCount++;
      } else if (r.field === 2) envelope.adapterConfig = readAny(r);
      else if (r.field === 3) envelope.dedupId = r.string();
      else throw FALL_BACK;
    }
    return envelope;
  } catch {
    return undefined;
  }
}

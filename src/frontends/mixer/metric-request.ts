// A direct wire decoder for HandleMetricRequest, the adapter's hottest path
// (Mixer batches hundreds of instances per call): one pass, no protobufjs
// decode-then-toObject and no Long objects; the reference deserializer stays
// the fallback (see src/wire/fast-decode.ts and request.ts).
import type { Any__Output } from '../../generated/google/protobuf/Any.js';
import type { HandleMetricRequest__Output } from '../../generated/metric/HandleMetricRequest.js';
import type { InstanceMsg__Output } from '../../generated/metric/InstanceMsg.js';
import {
  emptyValue,
  expectWire,
  FALL_BACK,
  readAny,
  readMapEntry,
  readValue,
  releaseReader,
  requestReader,
} from '../../wire/fast-decode.js';
import { INSTANCE_NAME_FIELD } from '../../wire/template-fields.js';
import { WIRE_LEN, type WireReader } from '../../wire/wire-reader.js';

function readInstance(r: WireReader): InstanceMsg__Output {
  const end = r.span();
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
        expectWire(wire, WIRE_LEN);
        instance.name = r.string();
        break;
      case 1:
        instance.value = readValue(r, wire);
        break;
      case 2:
        expectWire(wire, WIRE_LEN);
        readMapEntry(r, instance.dimensions, readValue, emptyValue);
        break;
      case 3:
        expectWire(wire, WIRE_LEN);
        instance.monitored_resource_type = r.string();
        break;
      case 4:
        expectWire(wire, WIRE_LEN);
        readMapEntry(r, instance.monitored_resource_dimensions, readValue, emptyValue);
        break;
      default:
        throw FALL_BACK;
    }
  }
  if (r.pos !== end) throw FALL_BACK;
  return instance;
}

/**
 * The fast decoder alone: throws FALL_BACK or MALFORMED for shapes it leaves
 * to the reference decoder, INVALID_UTF8 for a bad string.
 */
export function decodeMetricFast(buf: Buffer): HandleMetricRequest__Output {
  const r = requestReader(buf);
  try {
    const req: HandleMetricRequest__Output = { instances: [], adapter_config: null, dedup_id: '' };
    while (r.pos < r.limit) {
      r.tag();
      const field = r.field;
      expectWire(r.wire, WIRE_LEN);
      if (field === 1) req.instances.push(readInstance(r));
      else if (field === 2) req.adapter_config = readAny(r);
      else if (field === 3) req.dedup_id = r.string();
      else throw FALL_BACK;
    }
    return req;
  } finally {
    releaseReader(r);
  }
}

/** What the server needs of a metric request before its instances are decoded. */
export interface MetricEnvelope {
  adapterConfig: Any__Output | null;
  dedupId: string;
  instanceCount: number;
}

/**
 * Reads the top level of a HandleMetricRequest, passing over the instances:
 * enough to pick the handler while the instances are decoded elsewhere. It
 * reads each instance's tag and length only, not its bytes.
 * Undefined for anything off the fast path (the caller decodes it all inline).
 */
export function scanMetricEnvelope(buf: Buffer): MetricEnvelope | undefined {
  const r = requestReader(buf);
  try {
    const envelope: MetricEnvelope = { adapterConfig: null, dedupId: '', instanceCount: 0 };
    while (r.pos < r.limit) {
      r.tag();
      // Unknown fields are skipped, as the decoder does: they must not push
      // a large request onto the main thread.
      if (r.field > 3) {
        r.skipField();
        continue;
      }
      expectWire(r.wire, WIRE_LEN);
      if (r.field === 1) {
        r.pos = r.span();
        envelope.instanceCount++;
      } else if (r.field === 2) envelope.adapterConfig = readAny(r);
      else if (r.field === 3) envelope.dedupId = r.string();
      else throw FALL_BACK;
    }
    return envelope;
  } catch {
    return undefined;
  } finally {
    releaseReader(r);
  }
}

// What decoding a message of a protobufjs Type will cost in heap, counted
// from its bytes before anything is allocated (the Envoy front-ends' form of
// request-cost.ts, driven by the schema instead of hand-written per field).
// Sub-messages and map entries are what make decoded memory outgrow the wire
// (`0a 00`, two bytes, becomes an object); strings and bytes are no larger
// than about twice their bytes. A field the schema does not know is skipped,
// as the decoder skips it. Bytes that are not protobuf throw MALFORMED.
import type protobuf from 'protobufjs';
import { WIRE_LEN, WireReader } from './wire-reader.js';

/** Heap one decoded object (message or map entry) takes, with its slot in the parent; measured order of magnitude. */
export const BYTES_PER_OBJECT = 160;

interface Walk {
  objects: number;
  stringBytes: number;
}

function walk(r: WireReader, type: protobuf.Type, counts: Walk, depth: number): void {
  // protobufjs recurses too: a nesting this deep is an attack, not a request.
  if (depth > 64) throw new Error('messages nested more than 64 deep');
  while (r.pos < r.limit) {
    r.tag();
    const field = type.fieldsById[r.field];
    if (field === undefined || r.wire !== WIRE_LEN) {
      r.skipField();
      continue;
    }
    const sub = field.resolvedType;
    const outer = r.enter();
    if (field.map) {
      counts.objects++;
      const valueType = sub && 'fieldsById' in sub ? sub : undefined;
      // A map entry: key (1) and value (2); a message value is walked as one.
      while (r.pos < r.limit) {
        r.tag();
        if (r.field === 2 && valueType && r.wire === WIRE_LEN) {
          const inner = r.enter();
          counts.objects++;
          walk(r, valueType, counts, depth + 1);
          r.leave(inner);
        } else if (r.wire === WIRE_LEN) {
          const end = r.span();
          counts.stringBytes += end - r.pos;
          r.pos = end;
        } else r.skipField();
      }
    } else if (sub && 'fieldsById' in sub) {
      counts.objects++;
      walk(r, sub, counts, depth + 1);
    } else {
      // A string, bytes or a packed repeated scalar.
      counts.stringBytes += r.limit - r.pos;
      r.pos = r.limit;
    }
    r.leave(outer);
  }
}

/** Estimated heap bytes of decoding `bytes` as `type`. */
export function decodeCost(type: protobuf.Type, bytes: Uint8Array): { bytes: number; objects: number } {
  const counts: Walk = { objects: 1, stringBytes: 0 };
  walk(new WireReader(bytes), type, counts, 0);
  return { bytes: counts.objects * BYTES_PER_OBJECT + counts.stringBytes * 2, objects: counts.objects };
}

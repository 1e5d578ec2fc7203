// A strict structural check of protobuf bytes against a message type.
// protobufjs decodes leniently (a string whose length runs past the end is
// cut short, a known field with the wrong wire type is read anyway, invalid
// UTF-8 becomes U+FFFD), so bytes that Go's decoder would refuse would
// otherwise turn into plausible-looking values.
//
// It reads through the shared wire reader (wire-reader.ts), whose failures
// name the offset; this file adds the schema: field numbers, wire types per
// declared type, map entries and the paths of fields.
import protobuf from 'protobufjs';
import { MALFORMED, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from './wire-reader.js';

const SCALAR_WIRE: Record<string, number> = {
  double: WIRE_FIXED64,
  fixed64: WIRE_FIXED64,
  sfixed64: WIRE_FIXED64,
  float: WIRE_FIXED32,
  fixed32: WIRE_FIXED32,
  sfixed32: WIRE_FIXED32,
  int32: WIRE_VARINT,
  int64: WIRE_VARINT,
  uint32: WIRE_VARINT,
  uint64: WIRE_VARINT,
  sint32: WIRE_VARINT,
  sint64: WIRE_VARINT,
  bool: WIRE_VARINT,
  string: WIRE_LEN,
  bytes: WIRE_LEN,
};

export interface WireCheckOptions {
  /** The name paths start with; default the type's name. "" gives `instances[0].value`. */
  root?: string;
  /**
   * Called with the path and raw bytes of every string that is not valid
   * UTF-8; return true to accept it (the caller reads those bytes itself).
   * Without it, or when it returns false, the check fails naming the field.
   */
  acceptInvalidUtf8?: (path: string, bytes: Uint8Array) => boolean;
}

/**
 * Returns undefined when `bytes` are a well-formed `type`, else what is wrong,
 * with the field's path: repeated fields by index, map values by key
 * (`instances[0].dimensions["source"].string_value`).
 */
export function checkWire(type: protobuf.Type, bytes: Uint8Array, options: WireCheckOptions = {}): string | undefined {
  const r = new WireReader(bytes);
  try {
    new Checker(r, options).message(type, options.root ?? type.name);
    return undefined;
  } catch (err) {
    return err === MALFORMED ? r.problem() : (err as Error).message;
  }
}

function join(where: string, name: string): string {
  return where === '' ? name : `${where}.${name}`;
}

class Checker {
  constructor(
    private readonly r: WireReader,
    private readonly options: WireCheckOptions,
  ) {}

  /** Checks the fields of the innermost message as `type`. */
  message(type: protobuf.Type, where: string): void {
    const r = this.r;
    const seen = new Map<number, number>();
    while (r.pos < r.limit) {
      r.tag();
      const number = r.field;
      const wire = r.wire;
      if (number < 1 || number > 536870911) throw new Error(`${where}: invalid field number ${number}`);
      const field = type.fieldsById[number];
      if (!field) {
        this.skipUnknown(wire, join(where, `#${number}`));
        continue;
      }
      let path = join(where, field.name);
      if (field.repeated && !(field instanceof protobuf.MapField)) {
        const index = seen.get(number) ?? 0;
        seen.set(number, index + 1);
        path += `[${index}]`;
      }
      this.field(field, wire, path);
    }
  }

  private field(field: protobuf.Field, wire: number, where: string): void {
    const r = this.r;
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (wire !== WIRE_LEN) throw new Error(`${where}: map entry with wire type ${wire}`);
      const outer = r.enter();
      this.mapEntry(field, where);
      r.leave(outer);
      return;
    }
    const target = field.resolvedType;
    if (target instanceof protobuf.Type) {
      if (wire !== WIRE_LEN) throw new Error(`${where}: message field with wire type ${wire}`);
      const outer = r.enter();
      this.message(target, where);
      r.leave(outer);
      return;
    }
    const expected = target instanceof protobuf.Enum ? WIRE_VARINT : SCALAR_WIRE[field.type];
    if (expected === undefined) throw new Error(`${where}: unsupported field type ${field.type}`);
    if (wire === expected) {
      this.scalar(field.type, wire, where);
      return;
    }
    // Repeated numeric fields may arrive packed.
    if (field.repeated && wire === WIRE_LEN && expected !== WIRE_LEN) {
      const outer = r.enter();
      while (r.pos < r.limit) this.scalar(field.type, expected, where);
      r.leave(outer);
      return;
    }
    throw new Error(`${where}: wire type ${wire}, expected ${expected}`);
  }

  /** Checks one scalar; returns a string's text (undefined for other types). */
  private scalar(type: string, wire: number, where: string): string | undefined {
    const r = this.r;
    switch (wire) {
      case WIRE_VARINT:
        r.skipVarint();
        return undefined;
      case WIRE_FIXED64:
        r.skip(8);
        return undefined;
      case WIRE_FIXED32:
        r.skip(4);
        return undefined;
      default: {
        const end = r.span();
        const start = r.pos;
        r.pos = end;
        if (type !== 'string') return undefined;
        if (r.isUtf8(start, end)) return r.buf.toString('utf8', start, end);
        if (this.options.acceptInvalidUtf8?.(where, r.buf.subarray(start, end))) return undefined;
        throw new Error(`${where}: string is not valid UTF-8`);
      }
    }
  }

  /** Checks the innermost message as an entry of the map `field`. */
  private mapEntry(field: protobuf.MapField, where: string): void {
    const r = this.r;
    // The key comes first in every encoder seen; a value before its key is named [?].
    let entry = `${where}[?]`;
    while (r.pos < r.limit) {
      r.tag();
      const number = r.field;
      const wire = r.wire;
      if (number === 1) {
        if (wire !== SCALAR_WIRE[field.keyType]) throw new Error(`${where}: map key with wire type ${wire}`);
        const key = this.scalar(field.keyType, wire, `${where} key`);
        if (key !== undefined) entry = `${where}[${JSON.stringify(key)}]`;
      } else if (number === 2) {
        const valueType = field.resolvedType;
        if (valueType instanceof protobuf.Type) {
          if (wire !== WIRE_LEN) throw new Error(`${entry}: map value with wire type ${wire}`);
          const outer = r.enter();
          this.message(valueType, entry);
          r.leave(outer);
        } else {
          const expected = valueType instanceof protobuf.Enum ? WIRE_VARINT : SCALAR_WIRE[field.type];
          if (wire !== expected) throw new Error(`${entry}: map value with wire type ${wire}`);
          this.scalar(field.type, wire, entry);
        }
      } else {
        this.skipUnknown(wire, join(where, `#${number}`));
      }
    }
  }

  private skipUnknown(wire: number, where: string): void {
    // Groups (3, 4) are not used by any proto3 message; 6 and 7 do not exist.
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) {
      throw new Error(`${where}: invalid wire type ${wire}`);
    }
    this.r.skipField();
  }
}

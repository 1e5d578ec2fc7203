// A strict structural check of protobuf bytes against a message type.
// protobufjs decodes leniently (a string whose length runs past the end is
// cut short, a known field with the wrong wire type is read anyway, invalid
// UTF-8 becomes U+FFFD), so bytes that Go's decoder would refuse would
// otherwise turn into plausible-looking values.
import protobuf from 'protobufjs';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

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

class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error(`varint runs past the end at offset ${this.pos}`);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) return result;
      shift *= 128;
    }
    throw new Error(`varint longer than 10 bytes at offset ${this.pos}`);
  }

  skip(n: number): void {
    if (n > this.end - this.pos)
      throw new Error(`${n} bytes needed at offset ${this.pos}, ${this.end - this.pos} left`);
    this.pos += n;
  }

  /** A cursor over the length-delimited field that starts here; this one moves past it. */
  sub(): Cursor {
    const len = this.varint();
    const start = this.pos;
    this.skip(len);
    return new Cursor(this.buf, start, start + len);
  }
}

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
  try {
    new Checker(options).message(type, new Cursor(bytes, 0, bytes.length), options.root ?? type.name);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function join(where: string, name: string): string {
  return where === '' ? name : `${where}.${name}`;
}

class Checker {
  constructor(private readonly options: WireCheckOptions) {}

  message(type: protobuf.Type, c: Cursor, where: string): void {
    const seen = new Map<number, number>();
    while (c.pos < c.end) {
      const tag = c.varint();
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number < 1 || number > 536870911) throw new Error(`${where}: invalid field number ${number}`);
      const field = type.fieldsById[number];
      if (!field) {
        skipUnknown(c, wire, join(where, `#${number}`));
        continue;
      }
      let path = join(where, field.name);
      if (field.repeated && !(field instanceof protobuf.MapField)) {
        const index = seen.get(number) ?? 0;
        seen.set(number, index + 1);
        path += `[${index}]`;
      }
      this.field(field, wire, c, path);
    }
  }

  private field(field: protobuf.Field, wire: number, c: Cursor, where: string): void {
    field.resolve();
    if (field instanceof protobuf.MapField) {
      if (wire !== WIRE_LEN) throw new Error(`${where}: map entry with wire type ${wire}`);
      this.mapEntry(field, c.sub(), where);
      return;
    }
    const target = field.resolvedType;
    if (target instanceof protobuf.Type) {
      if (wire !== WIRE_LEN) throw new Error(`${where}: message field with wire type ${wire}`);
      this.message(target, c.sub(), where);
      return;
    }
    const expected = target instanceof protobuf.Enum ? WIRE_VARINT : SCALAR_WIRE[field.type];
    if (expected === undefined) throw new Error(`${where}: unsupported field type ${field.type}`);
    if (wire === expected) {
      this.scalar(field.type, wire, c, where);
      return;
    }
    // Repeated numeric fields may arrive packed.
    if (field.repeated && wire === WIRE_LEN && expected !== WIRE_LEN) {
      const packed = c.sub();
      while (packed.pos < packed.end) this.scalar(field.type, expected, packed, where);
      return;
    }
    throw new Error(`${where}: wire type ${wire}, expected ${expected}`);
  }

  /** Checks one scalar; returns a string's text (undefined for other types). */
  private scalar(type: string, wire: number, c: Cursor, where: string): string | undefined {
    switch (wire) {
      case WIRE_VARINT:
        c.varint();
        return undefined;
      case WIRE_FIXED64:
        c.skip(8);
        return undefined;
      case WIRE_FIXED32:
        c.skip(4);
        return undefined;
      default: {
        const sub = c.sub();
        if (type !== 'string') return undefined;
        const bytes = sub.buf.subarray(sub.pos, sub.end);
        try {
          return utf8.decode(bytes);
        } catch {
          if (this.options.acceptInvalidUtf8?.(where, bytes)) return undefined;
          throw new Error(`${where}: string is not valid UTF-8`);
        }
      }
    }
  }

  private mapEntry(field: protobuf.MapField, c: Cursor, where: string): void {
    // The key comes first in every encoder seen; a value before its key is named [?].
    let entry = `${where}[?]`;
    while (c.pos < c.end) {
      const tag = c.varint();
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 1) {
        if (wire !== SCALAR_WIRE[field.keyType]) throw new Error(`${where}: map key with wire type ${wire}`);
        const key = this.scalar(field.keyType, wire, c, `${where} key`);
        if (key !== undefined) entry = `${where}[${JSON.stringify(key)}]`;
      } else if (number === 2) {
        const valueType = field.resolvedType;
        if (valueType instanceof protobuf.Type) {
          if (wire !== WIRE_LEN) throw new Error(`${entry}: map value with wire type ${wire}`);
          this.message(valueType, c.sub(), entry);
        } else {
          const expected = valueType instanceof protobuf.Enum ? WIRE_VARINT : SCALAR_WIRE[field.type];
          if (wire !== expected) throw new Error(`${entry}: map value with wire type ${wire}`);
          this.scalar(field.type, wire, c, entry);
        }
      } else {
        skipUnknown(c, wire, join(where, `#${number}`));
      }
    }
  }
}

function skipUnknown(c: Cursor, wire: number, where: string): void {
  // Groups (3, 4) are not used by any proto3 message; 6 and 7 do not exist.
  if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) {
    throw new Error(`${where}: invalid wire type ${wire}`);
  }
  if (wire === WIRE_VARINT) c.varint();
  else if (wire === WIRE_FIXED64) c.skip(8);
  else if (wire === WIRE_FIXED32) c.skip(4);
  else c.sub();
}

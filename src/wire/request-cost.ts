// What decoding a request will cost, counted from its bytes before anything
// is allocated. Two things make decoded memory outgrow the wire: repeated
// instances (`0a 00`, two bytes, becomes an instance object, its record and
// ~250 bytes of formatted text) and map entries (dimensions, properties,
// string maps). Everything else is a string or number no larger than its bytes.
//
// The walk reads as protobufjs does (proto-loader's decoder, the fallback of
// the fast path): a known field by its declared type whatever its wire type,
// an unknown one skipped by its wire type, lengths and tags as 32-bit varints,
// every read inside the innermost message, a string that runs past it cut
// short. Where protobufjs would throw the walk may go on (counting more never
// hurts); where it goes on the walk is at the same offset. So a count is never
// lower than what the decoder builds.

/** Counts that drive memory use when a request is decoded and formatted. */
export interface RequestCost {
  bytes: number;
  instances: number;
  mapEntries: number;
}

// Measured (heap growth of decode + records + JSON text, 100k of each, node 20):
// an empty instance ~2.0 KB, a dimension entry ~0.5 KB, a string-map entry
// ~0.26 KB. Strings and their formatted copies: a few times their bytes.
const BYTES_PER_INSTANCE = 2048;
const BYTES_PER_MAP_ENTRY = 512;
const BYTES_PER_WIRE_BYTE = 4;

/** Memory decoding and formatting a request of this cost may take, in bytes (an upper estimate). */
export function estimatedDecodeBytes(cost: RequestCost): number {
  return cost.instances * BYTES_PER_INSTANCE + cost.mapEntries * BYTES_PER_MAP_ENTRY + cost.bytes * BYTES_PER_WIRE_BYTE;
}

/**
 * The most estimatedDecodeBytes can say of any `n` bytes: every instance and
 * map entry the walk counts starts at a tag of its own, at least one byte.
 * A request this small cannot pass a larger bound, so the walk is skipped.
 */
export function maxEstimatedDecodeBytes(n: number): number {
  return n * (Math.max(BYTES_PER_INSTANCE, BYTES_PER_MAP_ENTRY) + BYTES_PER_WIRE_BYTE);
}

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const FIXED32 = 5;

/** Thrown where the bytes stop being protobuf; the counts so far stand. */
const STOP = new Error('request-cost: malformed');

class Walk {
  pos = 0;
  field = 0;
  wire = 0;
  readonly cost: RequestCost;
  /** End of the innermost message being read. */
  private limit: number;

  constructor(readonly buf: Uint8Array) {
    this.limit = buf.length;
    this.cost = { bytes: buf.length, instances: 0, mapEntries: 0 };
  }

  private byte(): number {
    if (this.pos >= this.limit) throw STOP;
    return this.buf[this.pos++]!;
  }

  /** Tags and lengths: five bytes make 32 bits; a longer varint's next five bytes are skipped unread. */
  uint32(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      result += (i === 4 ? b & 0x0f : b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    this.skipBytes(5);
    return result;
  }

  /** int64: at most ten bytes. */
  varint64(): void {
    for (let i = 0; i < 10; i++) if (this.byte() < 0x80) return;
    throw STOP;
  }

  /** An unknown varint: any length. */
  varintAnyLength(): void {
    while (this.byte() >= 0x80);
  }

  tag(): void {
    const t = this.uint32();
    this.field = Math.floor(t / 8);
    this.wire = t % 8;
  }

  skipBytes(n: number): void {
    if (n > this.limit - this.pos) throw STOP;
    this.pos += n;
  }

  /** A length-delimited field, cut short at the end of its message as protobufjs cuts strings. */
  skipLen(): void {
    const len = this.uint32();
    this.pos = Math.min(this.pos + len, this.limit);
  }

  /** An unknown field, by its wire type. */
  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varintAnyLength();
        return;
      case FIXED64:
        this.skipBytes(8);
        return;
      case LEN:
        this.skipLen();
        return;
      case FIXED32:
        this.skipBytes(4);
        return;
      case START_GROUP:
        for (;;) {
          this.tag();
          if (this.wire === 4) return;
          this.skip(this.wire);
        }
      default:
        throw STOP;
    }
  }

  /** Runs `field` for every field of the message that ends at `end`. */
  message(end: number, field: FieldReader): void {
    while (this.pos < end) {
      this.tag();
      const wire = this.wire;
      if (!field(this, this.field)) this.skip(wire);
    }
  }

  /** A known message-typed field (or map entry): a length whatever the wire type, then its fields inside it. */
  nested(field: FieldReader): void {
    const outer = this.limit;
    const len = this.uint32();
    const end = Math.min(this.pos + len, outer);
    this.limit = end;
    this.message(end, field);
    this.limit = outer;
  }
}

/** Reads one known field (true), or says it is not known here (false: skipped by its wire type). */
type FieldReader = (w: Walk, number: number) => boolean;

const lenField = (w: Walk): boolean => (w.skipLen(), true);

function value(w: Walk, n: number): boolean {
  if (n === 2) w.varint64();
  else if (n === 4)
    w.uint32(); // bool
  else if (n === 3) w.skipBytes(8);
  else if (n === 11) w.nested(stringMap);
  else if (n >= 1 && n <= 10) return lenField(w);
  else return false;
  return true;
}

function stringMap(w: Walk, n: number): boolean {
  if (n !== 1) return false;
  w.cost.mapEntries++;
  return lenField(w);
}

function valueEntry(w: Walk, n: number): boolean {
  if (n === 1) return lenField(w);
  if (n === 2) return (w.nested(value), true);
  return false;
}

function mapEntry(w: Walk): boolean {
  w.cost.mapEntries++;
  w.nested(valueEntry);
  return true;
}

/** The `name` field every template's InstanceMsg has. */
const INSTANCE_NAME_FIELD = 72295727;

function metricInstance(w: Walk, n: number): boolean {
  if (n === INSTANCE_NAME_FIELD || n === 3) return lenField(w);
  if (n === 1) return (w.nested(value), true);
  if (n === 2 || n === 4) return mapEntry(w);
  return false;
}

function subject(w: Walk, n: number): boolean {
  if (n === 1 || n === 2) return lenField(w);
  if (n === 3) return mapEntry(w);
  return false;
}

function action(w: Walk, n: number): boolean {
  if (n >= 1 && n <= 4) return lenField(w);
  if (n === 5) return mapEntry(w);
  return false;
}

function authorizationInstance(w: Walk, n: number): boolean {
  if (n === INSTANCE_NAME_FIELD) return lenField(w);
  if (n === 1) return (w.nested(subject), true);
  if (n === 2) return (w.nested(action), true);
  return false;
}

function request(instance: FieldReader): FieldReader {
  return (w, n) => {
    if (n === 1) {
      w.cost.instances++;
      w.nested(instance);
      return true;
    }
    return n === 2 || n === 3 ? lenField(w) : false;
  };
}

const metricRequest = request(metricInstance);
const authorizationRequest = request(authorizationInstance);

function count(bytes: Uint8Array, top: FieldReader): RequestCost {
  const w = new Walk(bytes);
  try {
    w.message(bytes.length, top);
  } catch (err) {
    if (err !== STOP) throw err;
  }
  return w.cost;
}

/** Instances and map entries of a HandleMetricRequest, counted without decoding it. */
export function metricRequestCost(bytes: Uint8Array): RequestCost {
  return count(bytes, metricRequest);
}

/** Map entries of a HandleAuthorizationRequest, counted without decoding it. */
export function authorizationRequestCost(bytes: Uint8Array): RequestCost {
  return count(bytes, authorizationRequest);
}

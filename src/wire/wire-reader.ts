// Reading protobuf wire bytes straight into the objects proto-loader's
// deserializers build (keepCase, longs as decimal strings, defaults, oneof
// names, bytes as Buffer), for the request types on the hot paths. Each
// reader throws FALL_BACK for any shape it does not take (unknown field,
// unexpected wire type, a Value with two members, truncation, a varint that
// does not fit); withFallback() then hands the whole message to the reference
// deserializer (see reference-decode.ts), so odd input gets exactly its
// result or error.
import { isUtf8 } from 'node:buffer';
import type { Any__Output } from '../generated/google/protobuf/Any.js';
import type { Value__Output } from '../generated/istio/policy/v1beta1/Value.js';

const VARINT = 0;
const FIXED64 = 1;
const FIXED32 = 5;
export const LEN = 2;

/** Thrown inside the fast path to fall back; never escapes (see withFallback). */
export const FALL_BACK = new Error('wire decoder: not on the fast path');

/**
 * Thrown for a string that is not valid UTF-8, which decoding would turn into
 * U+FFFD. It escapes withFallback: the caller finds the field and decides.
 */
export const INVALID_UTF8 = new Error('wire decoder: a string is not valid UTF-8');

/** Requests the fallback decoded: its strings were not checked for UTF-8. */
export const decodedBySlowPath = new WeakSet<object>();

function utf8(buf: Buffer, start: number, end: number): string {
  if (!isUtf8(buf.subarray(start, end))) throw INVALID_UTF8;
  return buf.toString('utf8', start, end);
}

const EMPTY_BYTES = Buffer.alloc(0);

// Batches repeat the same short strings (instance names, dimension keys,
// service names) hundreds of times. Short ASCII strings are looked up in a
// small direct-mapped table by a hash of their bytes and compared byte for
// byte, so a repeat costs no native call and no new string. Bounded: one
// string per slot, a new one replaces the old.
const INTERN_MAX_BYTES = 64;
const INTERN_SLOTS = 4096;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS);

function shortString(buf: Buffer, start: number, end: number): string {
  if (start === end) return '';
  let h = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return utf8(buf, start, end);
    h = Math.imul(h ^ b, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const cached = interned[slot];
  if (cached !== undefined && cached.length === end - start) {
    let same = true;
    for (let i = 0; i < cached.length; i++) {
      if (cached.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const s = buf.toString('latin1', start, end); // ASCII: latin1 is the same text, decoded faster
  interned[slot] = s;
  return s;
}

export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint of up to 7 bytes (< 2^49) as an exact number; longer ones fall back to `varint64`. */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw FALL_BACK;
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw FALL_BACK;
  }

  /** Any varint (up to 10 bytes) as its low 64 bits, unsigned. */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw FALL_BACK;
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw FALL_BACK;
  }

  /** The end offset of a length-delimited field whose length comes next. */
  sub(): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > this.end) throw FALL_BACK;
    return end;
  }

  string(): string {
    const end = this.sub();
    const start = this.pos;
    this.pos = end;
    return end - start <= INTERN_MAX_BYTES ? shortString(this.buf, start, end) : utf8(this.buf, start, end);
  }

  bytes(): Buffer {
    const end = this.sub();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** int64 as proto-loader prints it with longs: String (signed decimal). */
  int64(): string {
    const start = this.pos;
    try {
      const n = this.varint();
      return String(n);
    } catch {
      this.pos = start;
      return BigInt.asIntN(64, this.varint64()).toString();
    }
  }

  /** int32: the low 32 bits, signed (negative values arrive as 10-byte varints). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  bool(): boolean {
    return BigInt.asUintN(32, this.varint64()) !== 0n;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw FALL_BACK;
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  /** Field number and wire type of the last tag read (fields, not a tuple: no garbage per tag). */
  field = 0;
  wire = 0;

  /** Reads a tag into `field` and `wire`. */
  tag(): void {
    const t = this.varint();
    this.field = Math.floor(t / 8);
    this.wire = t % 8;
  }
}

/** Skips the field whose tag was just read, by its wire type; groups and invalid types fall back. */
export function skipUnknown(r: Reader): void {
  if (r.wire === VARINT) r.varint64();
  else if (r.wire === LEN) r.pos = r.sub();
  else if (r.wire === FIXED64 || r.wire === FIXED32) {
    const n = r.wire === FIXED64 ? 8 : 4;
    if (r.pos + n > r.end) throw FALL_BACK;
    r.pos += n;
  } else throw FALL_BACK;
}

export function expectWire(wire: number, expected: number): void {
  if (wire !== expected) throw FALL_BACK;
}

/** `{ value: <T> }` wrapper messages (IPAddress, EmailAddress, TimeStamp, ...): field 1, length-delimited. */
function wrapped<T>(r: Reader, wire: number, read: (r: Reader) => T, dflt: T): { value: T } {
  expectWire(wire, LEN);
  const end = r.sub();
  let value = dflt;
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const w = r.wire;
    if (field !== 1) throw FALL_BACK;
    expectWire(w, LEN);
    value = read(r);
  }
  if (r.pos !== end) throw FALL_BACK;
  return { value };
}

const readString = (r: Reader): string => r.string();
const readBytes = (r: Reader): Buffer => r.bytes();

interface SecondsNanos {
  seconds: string;
  nanos: number;
}

/** google.protobuf.Timestamp / Duration: seconds int64 (1), nanos int32 (2). */
function readSecondsNanos(r: Reader): SecondsNanos {
  const end = r.sub();
  let seconds = '0';
  let nanos = 0;
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const wire = r.wire;
    expectWire(wire, VARINT);
    if (field === 1) seconds = r.int64();
    else if (field === 2) nanos = r.int32();
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return { seconds, nanos };
}

/**
 * Map entry: key string (1), value (2) read by `read`, stored into `map`.
 * Either may be missing (proto3: a missing field is its default): the key is
 * then "", the value `empty()` (an empty message, or "").
 */
export function readMapEntry<T>(
  r: Reader,
  map: Record<string, T>,
  read: (r: Reader, wire: number) => T,
  empty: () => T,
): void {
  const end = r.sub();
  let key = '';
  let value: T | undefined;
  let hasValue = false;
  while (r.pos < end) {
    r.tag();
    if (r.field === 1) {
      expectWire(r.wire, LEN);
      key = r.string();
    } else if (r.field === 2) {
      value = read(r, r.wire);
      hasValue = true;
    } else {
      throw FALL_BACK;
    }
  }
  if (r.pos !== end) throw FALL_BACK;
  map[key] = hasValue ? (value as T) : empty();
}

/** The value of a map<string, Value> entry that has none: an empty Value (decodes as unset). */
export const emptyValue = (): Value__Output => ({});

const readStringValue = (r: Reader, wire: number): string => {
  expectWire(wire, LEN);
  return r.string();
};

/** StringMap: its map<string, string> is field 1, one entry per occurrence. */
function readStringMap(r: Reader, wire: number): { value: Record<string, string> } {
  expectWire(wire, LEN);
  const end = r.sub();
  const map: Record<string, string> = {};
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const w = r.wire;
    if (field !== 1) throw FALL_BACK;
    expectWire(w, LEN);
    readMapEntry(r, map, readStringValue, () => '');
  }
  if (r.pos !== end) throw FALL_BACK;
  return { value: map };
}

export function readValue(r: Reader, wire: number): Value__Output {
  expectWire(wire, LEN);
  const end = r.sub();
  const v: Value__Output = {};
  let member = 0;
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const w = r.wire;
    if (member !== 0 && member !== field) throw FALL_BACK; // two members set
    member = field;
    switch (field) {
      case 1:
        expectWire(w, LEN);
        v.string_value = r.string();
        v.value = 'string_value';
        break;
      case 2:
        expectWire(w, VARINT);
        v.int64_value = r.int64();
        v.value = 'int64_value';
        break;
      case 3:
        expectWire(w, FIXED64);
        v.double_value = r.double();
        v.value = 'double_value';
        break;
      case 4:
        expectWire(w, VARINT);
        v.bool_value = r.bool();
        v.value = 'bool_value';
        break;
      case 5:
        v.ip_address_value = wrapped(r, w, readBytes, EMPTY_BYTES);
        v.value = 'ip_address_value';
        break;
      case 6:
        v.timestamp_value = wrapped<SecondsNanos | null>(r, w, readSecondsNanos, null);
        v.value = 'timestamp_value';
        break;
      case 7:
        v.duration_value = wrapped<SecondsNanos | null>(r, w, readSecondsNanos, null);
        v.value = 'duration_value';
        break;
      case 8:
        v.email_address_value = wrapped(r, w, readString, '');
        v.value = 'email_address_value';
        break;
      case 9:
        v.dns_name_value = wrapped(r, w, readString, '');
        v.value = 'dns_name_value';
        break;
      case 10:
        v.uri_value = wrapped(r, w, readString, '');
        v.value = 'uri_value';
        break;
      case 11:
        v.string_map_value = readStringMap(r, w);
        v.value = 'string_map_value';
        break;
      default:
        throw FALL_BACK;
    }
  }
  if (r.pos !== end) throw FALL_BACK;
  return v;
}

/** The number of the `name` field of every template's InstanceMsg. */
export const INSTANCE_NAME_FIELD = 72295727;

export function readAny(r: Reader): Any__Output {
  const end = r.sub();
  const any: Any__Output = { type_url: '', value: EMPTY_BYTES };
  while (r.pos < end) {
    r.tag();
    const field = r.field;
    const wire = r.wire;
    expectWire(wire, LEN);
    if (field === 1) any.type_url = r.string();
    else if (field === 2) any.value = r.bytes();
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return any;
}

/** The fast decoder `fast`, falling back to `slow` (proto-loader's) for anything it does not take. */
export function withFallback<T>(fast: (buf: Buffer) => T, slow: (buf: Buffer) => T): (buf: Buffer) => T {
  return (buf) => {
    try {
      return fast(buf);
    } catch (err) {
      if (err === INVALID_UTF8) throw err;
      // FALL_BACK, or anything unforeseen: the reference decoder decides.
      const decoded = slow(buf);
      if (typeof decoded === 'object' && decoded !== null) decodedBySlowPath.add(decoded);
      return decoded;
    }
  };
}

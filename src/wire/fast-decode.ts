// Reading request bytes straight into the objects proto-loader's
// deserializers build (keepCase, longs as decimal strings, defaults, oneof
// names, bytes as Buffer): the message types both requests share (Value, its
// wrappers, map entries, Any). The request readers themselves are in
// src/frontends/mixer/.
//
// A fast reader throws FALL_BACK (or the reader's MALFORMED) for any shape it
// does not take: an unknown field, an unexpected wire type, a Value with two
// members, truncation, a length past its message. The caller
// (frontends/mixer/request.ts) then hands the whole message to the reference
// deserializer (see reference-decode.ts), so odd input gets exactly its
// result or error. What the fast readers do take is well-formed by
// construction (known fields, right wire types, every length inside its
// message, UTF-8 strings): the strict check has nothing left to find in it,
// and runs only on the fallback's result; and it holds at most one instance
// or map entry per two bytes (maxEstimatedWellFormedBytes in request-cost.ts).
//
// Unlike the cost walk and the strict check, the fast readers leave the
// reader's limit at the end of the request and compare each message's end
// after reading it (`if (r.pos !== end) throw FALL_BACK`). A field that runs
// past its message is therefore read first, and a bad string in it stops the
// decode as INVALID_UTF8 (the strict check then names the field) rather than
// going to the fallback: which of the two bent bytes get decides the status
// text a caller sees, and this keeps it what it has been.
import type { Any__Output } from '../generated/google/protobuf/Any.js';
import type { Value__Output } from '../generated/istio/policy/v1beta1/Value.js';
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireReader } from './wire-reader.js';

/** Thrown inside the fast path for a shape it leaves to the reference decoder. */
export const FALL_BACK = new Error('wire decoder: not on the fast path');

const EMPTY_BYTES = Buffer.alloc(0);

// Tags and lengths of up to 7 bytes (< 2^49) are exact numbers here; longer
// (non-minimal) encodings, which protobufjs reads as 32-bit varints, go to
// the reference decoder, so that its result stands for them.
const FAST_VARINT_BYTES = 7;

// One reader for every request a thread decodes: a fast decode runs to its
// end (or throws) before the next can start, and the result holds no reader.
const shared = new WireReader(Buffer.alloc(0), FAST_VARINT_BYTES);

/**
 * A reader over a whole request, for the fast decoders; valid until the next
 * call. Each decode ends with releaseReader() (in a finally).
 */
export function requestReader(buf: Buffer): WireReader {
  return shared.reset(buf);
}

/** The reader lets go of the request's bytes (the next request may be a long way off, the last one large). */
export function releaseReader(r: WireReader): void {
  r.reset(EMPTY_BYTES);
}

export function expectWire(wire: number, expected: number): void {
  if (wire !== expected) throw FALL_BACK;
}

/** `{ value: <T> }` wrapper messages (IPAddress, EmailAddress, TimeStamp, ...): field 1, length-delimited. */
function wrapped<T>(r: WireReader, wire: number, read: (r: WireReader) => T, dflt: T): { value: T } {
  expectWire(wire, WIRE_LEN);
  const end = r.span();
  let value = dflt;
  while (r.pos < end) {
    r.tag();
    if (r.field !== 1) throw FALL_BACK;
    expectWire(r.wire, WIRE_LEN);
    value = read(r);
  }
  if (r.pos !== end) throw FALL_BACK;
  return { value };
}

const readString = (r: WireReader): string => r.string();
const readBytes = (r: WireReader): Buffer => r.bytes();

interface SecondsNanos {
  seconds: string;
  nanos: number;
}

/** google.protobuf.Timestamp / Duration: seconds int64 (1), nanos int32 (2). */
function readSecondsNanos(r: WireReader): SecondsNanos {
  const end = r.span();
  let seconds = '0';
  let nanos = 0;
  while (r.pos < end) {
    r.tag();
    expectWire(r.wire, WIRE_VARINT);
    if (r.field === 1) seconds = r.int64();
    else if (r.field === 2) nanos = r.int32();
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
  r: WireReader,
  map: Record<string, T>,
  read: (r: WireReader, wire: number) => T,
  empty: () => T,
): void {
  const end = r.span();
  let key = '';
  let value: T | undefined;
  let hasValue = false;
  while (r.pos < end) {
    r.tag();
    if (r.field === 1) {
      expectWire(r.wire, WIRE_LEN);
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

const readStringValue = (r: WireReader, wire: number): string => {
  expectWire(wire, WIRE_LEN);
  return r.string();
};

/** StringMap: its map<string, string> is field 1, one entry per occurrence. */
function readStringMap(r: WireReader, wire: number): { value: Record<string, string> } {
  expectWire(wire, WIRE_LEN);
  const end = r.span();
  const map: Record<string, string> = {};
  while (r.pos < end) {
    r.tag();
    if (r.field !== 1) throw FALL_BACK;
    expectWire(r.wire, WIRE_LEN);
    readMapEntry(r, map, readStringValue, () => '');
  }
  if (r.pos !== end) throw FALL_BACK;
  return { value: map };
}

export function readValue(r: WireReader, wire: number): Value__Output {
  expectWire(wire, WIRE_LEN);
  const end = r.span();
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
        expectWire(w, WIRE_LEN);
        v.string_value = r.string();
        v.value = 'string_value';
        break;
      case 2:
        expectWire(w, WIRE_VARINT);
        v.int64_value = r.int64();
        v.value = 'int64_value';
        break;
      case 3:
        expectWire(w, WIRE_FIXED64);
        v.double_value = r.double();
        v.value = 'double_value';
        break;
      case 4:
        expectWire(w, WIRE_VARINT);
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

export function readAny(r: WireReader): Any__Output {
  const end = r.span();
  const any: Any__Output = { type_url: '', value: EMPTY_BYTES };
  while (r.pos < end) {
    r.tag();
    expectWire(r.wire, WIRE_LEN);
    if (r.field === 1) any.type_url = r.string();
    else if (r.field === 2) any.value = r.bytes();
    else throw FALL_BACK;
  }
  if (r.pos !== end) throw FALL_BACK;
  return any;
}

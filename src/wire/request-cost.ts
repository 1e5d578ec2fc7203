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
//
// It runs before decoding, for requests long enough to pass the bound (see
// the two maxEstimated functions below and frontends/mixer/request.ts).
import { INSTANCE_NAME_FIELD } from './template-fields.js';
import {
  MALFORMED,
  WIRE_END_GROUP,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_START_GROUP,
  WIRE_VARINT,
  WireReader,
} from './wire-reader.js';

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

/**
 * The same for `n` bytes the fast decoders take: they take only well-formed
 * messages, where every instance and map entry has a tag and a length of its
 * own, two bytes at the least (`0a 00`), so they hold at most n / 2 of them.
 * A request this small is decoded without walking first: whatever the fast
 * decoder builds from it is within a larger bound, and what it does not take
 * is walked before the reference decoder allocates.
 */
export function maxEstimatedWellFormedBytes(n: number): number {
  return n * (Math.max(BYTES_PER_INSTANCE, BYTES_PER_MAP_ENTRY) / 2 + BYTES_PER_WIRE_BYTE);
}

/** Where the bytes stop being protobuf; the counts so far stand. */
const STOP = MALFORMED;

/** An unknown field, by its wire type, as protobufjs's skipType passes over it. */
function skip(r: WireReader, wire: number): void {
  switch (wire) {
    case WIRE_VARINT:
      r.skipVarintAnyLength();
      return;
    case WIRE_FIXED64:
      r.skip(8);
      return;
    case WIRE_LEN:
      r.skipCut();
      return;
    case WIRE_FIXED32:
      r.skip(4);
      return;
    case WIRE_START_GROUP:
      for (;;) {
        r.tag32();
        if (r.wire === WIRE_END_GROUP) return;
        skip(r, r.wire);
      }
    default:
      throw STOP;
  }
}

/** Runs `field` for every field of the innermost message. */
function message(r: WireReader, cost: RequestCost, field: FieldReader): void {
  while (r.pos < r.limit) {
    r.tag32();
    const wire = r.wire;
    if (!field(r, cost, r.field)) skip(r, wire);
  }
}

/** A known message-typed field (or map entry): a length whatever the wire type, then its fields inside it. */
function nested(r: WireReader, cost: RequestCost, field: FieldReader): void {
  const outer = r.enterCut();
  message(r, cost, field);
  r.leave(outer);
}

/** Reads one known field (true), or says it is not known here (false: skipped by its wire type). */
type FieldReader = (r: WireReader, cost: RequestCost, number: number) => boolean;

const lenField = (r: WireReader): boolean => (r.skipCut(), true);

function value(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n === 2) r.skipVarint();
  else if (n === 4)
    r.varint32(); // bool
  else if (n === 3) r.skip(8);
  else if (n === 11) nested(r, cost, stringMap);
  else if (n >= 1 && n <= 10) return lenField(r);
  else return false;
  return true;
}

function stringMap(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n !== 1) return false;
  cost.mapEntries++;
  return lenField(r);
}

function valueEntry(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n === 1) return lenField(r);
  if (n === 2) return (nested(r, cost, value), true);
  return false;
}

function mapEntry(r: WireReader, cost: RequestCost): boolean {
  cost.mapEntries++;
  nested(r, cost, valueEntry);
  return true;
}

function metricInstance(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n === INSTANCE_NAME_FIELD || n === 3) return lenField(r);
  if (n === 1) return (nested(r, cost, value), true);
  if (n === 2 || n === 4) return mapEntry(r, cost);
  return false;
}

function subject(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n === 1 || n === 2) return lenField(r);
  if (n === 3) return mapEntry(r, cost);
  return false;
}

function action(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n >= 1 && n <= 4) return lenField(r);
  if (n === 5) return mapEntry(r, cost);
  return false;
}

function authorizationInstance(r: WireReader, cost: RequestCost, n: number): boolean {
  if (n === INSTANCE_NAME_FIELD) return lenField(r);
  if (n === 1) return (nested(r, cost, subject), true);
  if (n === 2) return (nested(r, cost, action), true);
  return false;
}

function request(instance: FieldReader): FieldReader {
  return (r, cost, n) => {
    if (n === 1) {
      cost.instances++;
      nested(r, cost, instance);
      return true;
    }
    return n === 2 || n === 3 ? lenField(r) : false;
  };
}

const metricRequest = request(metricInstance);
const authorizationRequest = request(authorizationInstance);

function count(bytes: Uint8Array, top: FieldReader): RequestCost {
  const r = new WireReader(bytes);
  const cost: RequestCost = { bytes: bytes.length, instances: 0, mapEntries: 0 };
  try {
    message(r, cost, top);
  } catch (err) {
    if (err !== STOP) throw err;
  }
  return cost;
}

/** Instances and map entries of a HandleMetricRequest, counted without decoding it. */
export function metricRequestCost(bytes: Uint8Array): RequestCost {
  return count(bytes, metricRequest);
}

/** Map entries of a HandleAuthorizationRequest, counted without decoding it. */
export function authorizationRequestCost(bytes: Uint8Array): RequestCost {
  return count(bytes, authorizationRequest);
}

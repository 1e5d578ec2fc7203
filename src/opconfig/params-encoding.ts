// A handler's `params:` -> the bytes of adapter_config.value, as Mixer makes
// them from the adapter resource's Params descriptor (contract §3.2, checked
// with realmixer): keys are the proto name or the lowerCamel JSON name,
// unknown keys are an error, top-level fields are written one after another
// in sorted key order, YAML numbers are doubles (so an unquoted number in a
// string field is refused), and integer fields take an integral number or a
// Go integer literal ("0x10") and are written as 64-bit varints without a
// range check (3000000000 in an int32 field arrives negative).
import protobuf from 'protobufjs';
import { WireWriter } from './wire-writer.js';
import { parseRfc3339 } from './time.js';
import { parseGoDuration } from '../common/go-duration.js';

export class ParamsError extends Error {}

/** protoc's JSON name: underscores dropped, the following letter upper-cased. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function fieldFor(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fieldsArray.find((f) => f.name === key || jsonName(f.name) === key);
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function fail(where: string, expected: string, got: unknown): never {
  throw new ParamsError(`${where}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}

// The Go type a YAML value has inside Mixer's Struct, for its error texts.
function goTypeOf(v: unknown): string {
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (v === null) return '<nil>';
  return 'map[string]interface {}';
}

/** Mixer's refusal, word for word: `field 'x' is of type 'float64' instead of expected type 'string'`. */
function wrongType(where: string, field: protobuf.Field, v: unknown, expected: string): never {
  throw new ParamsError(
    `${where}: field '${field.name}' is of type '${goTypeOf(v)}' instead of expected type '${expected}'`,
  );
}

const VARINT_INTS = new Set(['int32', 'int64', 'uint32', 'uint64']);
const INT64_MIN = -(2n ** 63n);
const INT64_LIMIT = 2n ** 63n;

/** Go's strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes, leading-0 octal, underscores between digits. */
export function parseGoInt(text: string): bigint | undefined {
  const m =
    /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$/.exec(text);
  if (!m) return undefined;
  const digits = (m[2] ?? '').replace(/_/g, '');
  const abs = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const n = m[1] === '-' ? -abs : abs;
  return n < INT64_MIN || n >= INT64_LIMIT ? undefined : n;
}

/** An integer field's value as Mixer accepts it, or Mixer's error. */
function mixerInt(field: protobuf.Field, v: unknown, where: string): bigint {
  if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63) return BigInt(v);
  if (typeof v === 'string') {
    const n = parseGoInt(v);
    if (n !== undefined) return n;
  }
  return wrongType(where, field, v, 'int');
}

/** One scalar, enum or message value converted to what protobufjs fromObject accepts. */
function convertSingle(field: protobuf.Field, v: unknown, where: string): unknown {
  if (VARINT_INTS.has(field.type)) {
    const n = mixerInt(field, v, where);
    // protobufjs takes int64s as decimal text; 32-bit fields here only below the top level.
    return field.type.endsWith('32') ? Number(BigInt.asIntN(32, n)) : n.toString();
  }
  const range = INT_RANGES[field.type];
  if (range) {
    const text = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v : undefined;
    if (text === undefined || !/^-?\d+$/.test(text)) return fail(where, `an integer (${field.type})`, v);
    const n = BigInt(text);
    if (n < range[0] || n > range[1]) return fail(where, `an integer in the ${field.type} range`, v);
    return field.type.endsWith('32') ? Number(n) : text;
  }
  switch (field.type) {
    case 'string':
      return typeof v === 'string' ? v : wrongType(where, field, v, 'string');
    case 'bool':
      return typeof v === 'boolean' ? v : wrongType(where, field, v, 'bool');
    case 'double':
    case 'float':
      return typeof v === 'number' ? v : fail(where, 'a number', v);
    case 'bytes':
      return typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? v : fail(where, 'base64 text', v);
    default:
      break;
  }
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof v === 'string' && Object.hasOwn(resolved.values, v)) return v;
    if (typeof v === 'number' && Object.values(resolved.values).includes(v)) return v;
    return fail(where, `one of ${Object.keys(resolved.values).join(', ')}`, v);
  }
  if (resolved instanceof protobuf.Type) return convertMessage(resolved, v, where);
  return fail(where, `a value of unsupported type ${field.type}`, v);
}

// protobuf JSON spells these two well-known types as strings; accept that form.
function wellKnown(type: protobuf.Type, v: string, where: string): Record<string, unknown> {
  const name = type.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Duration') {
    const nanos = parseGoDuration(v);
    if (nanos === undefined) return fail(where, 'a duration such as "5s"', v);
    return { seconds: String(nanos / 1_000_000_000n), nanos: Number(nanos % 1_000_000_000n) };
  }
  if (name === 'google.protobuf.Timestamp') {
    const t = parseRfc3339(v);
    if (!t) return fail(where, 'an RFC 3339 time', v);
    return { seconds: String(t.seconds), nanos: t.nanos };
  }
  return fail(where, `an object for ${name}`, v);
}

function convertMessage(type: protobuf.Type, v: unknown, where: string): Record<string, unknown> {
  if (typeof v === 'string') return wellKnown(type, v, where);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(where, `an object for ${type.name}`, v);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const field = fieldFor(type, key);
    const at = `${where}.${key}`;
    if (!field) {
      const known = type.fieldsArray.map((f) => f.name).join(', ') || 'none';
      throw new ParamsError(
        `${at}: unknown field: field '${key}' not found in message '${type.name}' (it has: ${known})`,
      );
    }
    if (Object.hasOwn(out, field.name)) throw new ParamsError(`${at}: field ${field.name} given twice`);
    out[field.name] = convertField(field, value, at);
  }
  return out;
}

/** A map field as it comes out of a descriptor set: a repeated `XEntry` message marked map_entry. */
function mapEntryType(field: protobuf.Field): protobuf.Type | undefined {
  const t = field.resolvedType;
  return field.repeated && t instanceof protobuf.Type && t.getOption('map_entry') === true ? t : undefined;
}

function convertField(field: protobuf.Field, v: unknown, where: string): unknown {
  const entry = mapEntryType(field);
  if (entry) {
    const keyField = entry.fields.key;
    const valueField = entry.fields.value;
    if (!keyField || !valueField) return fail(where, 'a map entry type with key and value', v);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(where, 'a map (object)', v);
    return Object.entries(v).map(([k, x]) => ({
      key: convertSingle(keyField, k, `${where}[${k}]`),
      value: convertSingle(valueField, x, `${where}[${k}]`),
    }));
  }
  if (field instanceof protobuf.MapField) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail(where, 'a map (object)', v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convertSingle(field, x, `${where}[${k}]`)]));
  }
  if (field.repeated) {
    if (!Array.isArray(v)) return fail(where, 'a list', v);
    return v.map((x, i) => convertSingle(field, x, `${where}[${i}]`));
  }
  return convertSingle(field, v, where);
}

/**
 * Encodes `params` (the YAML `spec.params`, possibly absent) as `type`.
 * Throws ParamsError naming the offending key. `where` prefixes messages.
 */
export function encodeParams(type: protobuf.Type, params: unknown, where = 'params'): Buffer {
  if (params === undefined || params === null) return Buffer.alloc(0);
  const fields = convertMessage(type, params, where);
  // Each top-level field is encoded on its own and appended in key order,
  // which is how Mixer's encoder lays them out.
  const keys = Object.keys(params).sort();
  const chunks = keys.map((key) => {
    const field = fieldFor(type, key) as protobuf.Field;
    if (VARINT_INTS.has(field.type) && !field.repeated) {
      // Mixer writes the 64-bit value whatever the field's width (no range check).
      return new WireWriter()
        .varintField(field.id, mixerInt(field, params[key as keyof typeof params], `${where}.${key}`))
        .finish();
    }
    const one = type.fromObject({ [field.name]: fields[field.name] });
    return type.encode(one).finish();
  });
  return Buffer.concat(chunks);
}

// A handler's `params:` -> the bytes of adapter_config.value, as Mixer makes
// them from the adapter resource's Params descriptor: keys are the proto name
// or the lowerCamel JSON name, unknown keys are an error, and top-level
// fields are written one after another in sorted key order.
import protobuf from 'protobufjs';
import { parseRfc3339 } from './time.js';
import { parseGoDuration } from '../decode/go-duration.js';

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

/** One scalar, enum or message value converted to what protobufjs fromObject accepts. */
function convertSingle(field: protobuf.Field, v: unknown, where: string): unknown {
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
      return typeof v === 'string' ? v : fail(where, 'a string', v);
    case 'bool':
      return typeof v === 'boolean' ? v : fail(where, 'true or false', v);
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
      throw new ParamsError(`${at}: unknown field (${type.fullName.replace(/^\./, '')} has: ${known})`);
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
    const one = type.fromObject({ [field.name]: fields[field.name] });
    return type.encode(one).finish();
  });
  return Buffer.concat(chunks);
}

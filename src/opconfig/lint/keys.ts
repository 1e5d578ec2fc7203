// Checks the keys of a YAML mapping against a protobuf message, the way
// Mixer's JSON/YAML conversion does: a key may be the proto field name or its
// lowerCamel JSON name, and an unknown key rejects the whole resource.
import protobuf from 'protobufjs';

export interface KeyProblem {
  /** Dotted path of the offending key or value. */
  field: string;
  message: string;
}

/** protoc's JSON name: drop each `_` and upper-case the letter after it. */
export function jsonName(protoName: string): string {
  return protoName.replace(/_+([a-zA-Z0-9])?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase());
}

/** Messages whose YAML form is a scalar (expressions, durations, ...): not descended into. */
function isLeafMessage(type: protobuf.Type): boolean {
  const name = type.fullName.replace(/^\./, '');
  return name.startsWith('google.protobuf.') || name.startsWith('istio.policy.v1beta1.');
}

/**
 * Whether a descriptor-built field is a proto map. protoc encodes
 * `map<K,V> x = n` as `repeated XEntry x = n` with a nested XEntry {key = 1;
 * value = 2}; the map_entry option is not used because protobufjs's
 * fromDescriptor does not keep it reliably on the right type.
 */
function mapEntryOf(field: protobuf.Field, type: protobuf.Type | null): protobuf.Type | undefined {
  if (!field.repeated || type === null || type.parent !== field.parent || !type.name.endsWith('Entry'))
    return undefined;
  return type.fields.key?.id === 1 && type.fields.value?.id === 2 ? type : undefined;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export interface KeyCheckOptions {
  /** Fields that exist in the message but must not be written (e.g. Mixer's `name`). */
  reserved?: ReadonlyMap<string, string>;
}

/** Every unknown key (and enum value) under `value`, recursing into nested messages, repeated messages and map values. */
export function checkKeys(
  value: unknown,
  type: protobuf.Type,
  at: string,
  options: KeyCheckOptions = {},
): KeyProblem[] {
  if (value === null || value === undefined) return [];
  if (!isMapping(value)) return [{ field: at, message: `expected a mapping for ${type.name}` }];
  const byKey = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byKey.set(f.name, f);
    byKey.set(jsonName(f.name), f);
  }
  const problems: KeyProblem[] = [];
  for (const [key, child] of Object.entries(value)) {
    const where = `${at}.${key}`;
    const reason = options.reserved?.get(key);
    const field = reason === undefined ? byKey.get(key) : undefined;
    if (reason !== undefined) {
      problems.push({ field: where, message: reason });
    } else if (field === undefined) {
      const known = type.fieldsArray.filter((f) => !options.reserved?.has(f.name)).map((f) => f.name);
      problems.push({ field: where, message: `unknown key "${key}" for ${type.name} (known: ${known.join(', ')})` });
    } else {
      problems.push(...checkFieldValue(child, field, where));
    }
  }
  return problems;
}

function checkFieldValue(value: unknown, field: protobuf.Field, at: string): KeyProblem[] {
  field.resolve();
  const type = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
  const entry = mapEntryOf(field, type);
  if (field.map || entry !== undefined) {
    if (value === null || value === undefined) return [];
    if (!isMapping(value)) return [{ field: at, message: 'expected a mapping' }];
    const valueField = entry?.fields.value;
    if (valueField !== undefined) valueField.resolve();
    // A protobufjs MapField resolves to the value type itself.
    const valueType =
      entry === undefined ? type : valueField?.resolvedType instanceof protobuf.Type ? valueField.resolvedType : null;
    return Object.entries(value).flatMap(([k, v]) => checkSingle(v, valueType, `${at}.${k}`));
  }
  if (field.resolvedType instanceof protobuf.Enum) {
    const values = field.resolvedType.values;
    const items = field.repeated && Array.isArray(value) ? value : [value];
    return items.flatMap((item: unknown, i) => {
      const known =
        typeof item === 'string' ? Object.hasOwn(values, item) : Object.values(values).includes(item as number);
      const where = items === value ? `${at}[${i}]` : at;
      return known || item === null || item === undefined
        ? []
        : [{ field: where, message: `expected one of ${Object.keys(values).join(', ')}, got ${JSON.stringify(item)}` }];
    });
  }
  if (field.repeated && Array.isArray(value)) {
    return value.flatMap((item, i) => checkSingle(item, type, `${at}[${i}]`));
  }
  return checkSingle(value, type, at);
}

/** Istio's value messages are written as one expression (google.protobuf ones, e.g. Struct, may be mappings). */
function isExpression(type: protobuf.Type): boolean {
  return type.fullName.replace(/^\./, '').startsWith('istio.policy.v1beta1.');
}

function checkSingle(value: unknown, type: protobuf.Type | null, at: string): KeyProblem[] {
  if (type !== null && !isLeafMessage(type)) return checkKeys(value, type, at);
  if ((type === null || isExpression(type)) && (isMapping(value) || Array.isArray(value))) {
    return [{ field: at, message: 'expected a single value or expression, got a mapping or list' }];
  }
  return [];
}

// Attribute sets from a JSON file (`--attributes-file`): values are read by
// the manifest type of each attribute, so no type tags are needed.
import { isIP } from 'node:net';
import { AttributeError, EXAMPLES, parseTyped } from '../../opconfig/attributes.js';
import { ipBytes, type TypedValue, type ValueType } from '../../opconfig/values.js';

/** A JSON attribute value converted to the manifest type of its attribute. */
function fromJson(type: ValueType, v: unknown, where: string): TypedValue {
  const fail = (): never => {
    throw new AttributeError(`${where}: expected ${type} (${EXAMPLES[type]}), got ${JSON.stringify(v)}`);
  };
  if (type === 'STRING_MAP') {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return fail();
    const map: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'string') return fail();
      map[k] = x;
    }
    return { type, value: map };
  }
  if (type === 'IP_ADDRESS' && typeof v === 'string' && isIP(v) !== 0) return { type, value: ipBytes(v) };
  if (type === 'INT64' && typeof v === 'number' && Number.isSafeInteger(v)) return { type, value: BigInt(v) };
  if (type === 'DOUBLE' && typeof v === 'number') return { type, value: v };
  if (type === 'BOOL' && typeof v === 'boolean') return { type, value: v };
  if (typeof v !== 'string') return fail();
  return parseTyped(type, v) ?? fail();
}

/**
 * An attributes file: one object (one attribute set) or an array of them,
 * `{"request.size": 1235, "request.headers": {"x-custom-token": "abc"}}`.
 * Values are read according to the manifest type of each attribute.
 */
export function bagsFromJson(
  json: unknown,
  typeOf: (name: string) => ValueType | undefined,
  file: string,
): Map<string, TypedValue>[] {
  const sets = Array.isArray(json) ? (json as unknown[]) : [json];
  return sets.map((set, i) => {
    const where = Array.isArray(json) ? `${file}[${i}]` : file;
    if (set === null || typeof set !== 'object' || Array.isArray(set)) {
      throw new AttributeError(`${where}: expected an object of attribute name -> value`);
    }
    const bag = new Map<string, TypedValue>();
    for (const [name, v] of Object.entries(set)) {
      const type = typeOf(name);
      if (!type) throw new AttributeError(`${where}: ${name}: not in the attribute manifest`);
      bag.set(name, fromJson(type, v, `${where}: ${name}`));
    }
    return bag;
  });
}

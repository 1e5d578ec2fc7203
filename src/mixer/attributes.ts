// mixc-style attribute flags ("-s a=b,c=d", "--stringmap_attributes
// m=k1:v1;k2:v2") -> attribute bags, and their check against the manifest.
import { parseGoDuration } from '../decode/go-duration.js';
import { parseRfc3339 } from './time.js';
import { isIP } from 'node:net';
import { ipBytes, isStringLike, type TypedValue, type ValueType } from './values.js';

export type Bag = ReadonlyMap<string, TypedValue>;

/** Each flag kind and the value type its entries get. */
export const ATTRIBUTE_FLAGS = {
  string_attributes: 'STRING',
  int64_attributes: 'INT64',
  double_attributes: 'DOUBLE',
  bool_attributes: 'BOOL',
  timestamp_attributes: 'TIMESTAMP',
  duration_attributes: 'DURATION',
  bytes_attributes: 'IP_ADDRESS',
  stringmap_attributes: 'STRING_MAP',
} as const satisfies Record<string, ValueType>;
export type AttributeFlag = keyof typeof ATTRIBUTE_FLAGS;

export class AttributeError extends Error {}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function int64(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

function double(text: string): number | undefined {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}

// Go's strconv.ParseBool, which mixc uses.
const BOOLS: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

/** "ac:11:0:3" -> bytes (each part one hex byte, as mixc's --bytes_attributes). */
export function parseHexBytes(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** "k1:v1;k2:v2" -> map; each entry split at its first ':'. */
export function parseStringMap(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (text === '') return out;
  for (const entry of text.split(';')) {
    const colon = entry.indexOf(':');
    if (colon <= 0) return undefined;
    out[entry.slice(0, colon)] = entry.slice(colon + 1);
  }
  return out;
}

/** Parses one flag value's text as `type`; undefined when it does not parse. */
export function parseTyped(type: ValueType, text: string): TypedValue | undefined {
  switch (type) {
    case 'STRING':
    case 'EMAIL_ADDRESS':
    case 'URI':
    case 'DNS_NAME':
      return { type, value: text };
    case 'INT64': {
      const v = int64(text);
      return v === undefined ? undefined : { type, value: v };
    }
    case 'DOUBLE': {
      const v = double(text);
      return v === undefined ? undefined : { type, value: v };
    }
    case 'BOOL': {
      const v = BOOLS[text];
      return v === undefined ? undefined : { type, value: v };
    }
    case 'TIMESTAMP': {
      const v = parseRfc3339(text);
      return v && { type, value: v };
    }
    case 'DURATION': {
      const v = parseGoDuration(text);
      return v === undefined ? undefined : { type, value: v };
    }
    case 'IP_ADDRESS': {
      const v = parseHexBytes(text);
      return v && { type, value: v };
    }
    case 'STRING_MAP': {
      const v = parseStringMap(text);
      return v && { type, value: v };
    }
    default: {
      const unreachable: never = type;
      throw new Error(`unknown type ${String(unreachable)}`);
    }
  }
}

/** What each type's text looks like, for messages. */
export const EXAMPLES: Record<ValueType, string> = {
  STRING: 'text',
  EMAIL_ADDRESS: 'a@b.c',
  URI: 'http://x',
  DNS_NAME: 'a.b',
  INT64: 'a 64-bit integer such as 1235',
  DOUBLE: 'a number such as 1.5',
  BOOL: 'true or false',
  TIMESTAMP: 'an RFC 3339 time such as 2020-01-02T15:04:05Z',
  DURATION: 'a Go duration such as 10ms',
  IP_ADDRESS: 'hex bytes joined by ":" such as ac:11:0:3',
  STRING_MAP: 'k1:v1;k2:v2',
};

/**
 * Adds the entries of one flag occurrence (`name=v,name2=v2`) to `bag`.
 * Throws AttributeError naming the flag, the entry and what was expected.
 */
export function addFlagAttributes(bag: Map<string, TypedValue>, flag: AttributeFlag, text: string): void {
  const type = ATTRIBUTE_FLAGS[flag];
  if (text === '') return;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new AttributeError(`--${flag}: "${entry}" is not name=value`);
    const name = entry.slice(0, eq);
    const value = parseTyped(type, entry.slice(eq + 1));
    if (!value)
      throw new AttributeError(`--${flag}: ${name}: expected ${EXAMPLES[type]}, got "${entry.slice(eq + 1)}"`);
    bag.set(name, value);
  }
}

/**
 * `-a/--attributes name=v,...`: each value is read as its attribute's
 * manifest type (mixc guesses the type from the text instead); IP_ADDRESS
 * also takes dotted or colon text. Undeclared names are an error.
 */
export function addManifestTypedAttributes(
  bag: Map<string, TypedValue>,
  text: string,
  typeOf: (name: string) => ValueType | undefined,
): void {
  if (text === '') return;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new AttributeError(`--attributes: "${entry}" is not name=value`);
    const name = entry.slice(0, eq);
    const raw = entry.slice(eq + 1);
    const type = typeOf(name);
    if (!type)
      throw new AttributeError(`--attributes: ${name}: not in the attribute manifest (use a typed flag such as -s)`);
    const value = type === 'IP_ADDRESS' && isIP(raw) !== 0 ? { type, value: ipBytes(raw) } : parseTyped(type, raw);
    if (!value) throw new AttributeError(`--attributes: ${name} is ${type}: expected ${EXAMPLES[type]}, got "${raw}"`);
    bag.set(name, value);
  }
}

/** Builds one bag from every attribute flag (each may be given several times). */
export function bagFromFlags(flags: Partial<Record<AttributeFlag, readonly string[]>>): Map<string, TypedValue> {
  const bag = new Map<string, TypedValue>();
  for (const flag of Object.keys(ATTRIBUTE_FLAGS) as AttributeFlag[]) {
    for (const text of flags[flag] ?? []) addFlagAttributes(bag, flag, text);
  }
  return bag;
}

/**
 * The bag value of `name` seen as `type` (the manifest type): string flags
 * serve EMAIL_ADDRESS/DNS_NAME/URI too. Undefined when the kinds differ.
 */
export function asManifestType(v: TypedValue, type: ValueType): TypedValue | undefined {
  if (v.type === type) return v;
  if (isStringLike(v.type) && isStringLike(type)) return { type, value: v.value as string };
  return undefined;
}

const FLAG_FOR: Record<ValueType, string> = {
  STRING: '--string_attributes',
  EMAIL_ADDRESS: '--string_attributes',
  URI: '--string_attributes',
  DNS_NAME: '--string_attributes',
  INT64: '--int64_attributes',
  DOUBLE: '--double_attributes',
  BOOL: '--bool_attributes',
  TIMESTAMP: '--timestamp_attributes',
  DURATION: '--duration_attributes',
  IP_ADDRESS: '--bytes_attributes',
  STRING_MAP: '--stringmap_attributes',
};

/**
 * Every bag value whose kind differs from its manifest type, as messages
 * that name the right flag. Attributes the manifest does not declare are
 * allowed (Mixer accepts and ignores them).
 */
export function manifestMismatches(bag: Bag, typeOf: (name: string) => ValueType | undefined): string[] {
  const out: string[] = [];
  for (const [name, v] of bag) {
    const type = typeOf(name);
    if (type && !asManifestType(v, type)) {
      out.push(`${name}: the attribute manifest says ${type}, but it was given as ${v.type} (use ${FLAG_FOR[type]})`);
    }
  }
  return out;
}

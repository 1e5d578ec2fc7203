// mixc-style attribute flags ("-s a=b,c=d", "--stringmap_attributes
// m=k1:v1;k2:v2") -> attribute bags, and how Mixer reads a bag value whose
// kind differs from the manifest type.
import { parseGoDuration } from '../common/go-duration.js';
import { goFloat, goMap } from '../format/go-print.js';
import { formatGoDuration, formatRfc3339, parseRfc3339 } from './time.js';
import { isStringLike, type TypedValue, type ValueType } from './values.js';

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

/** "ac:11:0:3" -> bytes (each part one hex byte up to ff, as mixc's --bytes_attributes). */
export function parseHexBytes(text: string): Uint8Array | undefined {
  const parts = text.split(':');
  if (parts.some((p) => !/^[0-9a-fA-F]+$/.test(p) || parseInt(p, 16) > 0xff)) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** "k1:v1;k2:v2" -> map; each entry split at its first ':' (mixc allows an empty key). */
export function parseStringMap(text: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const entry of text.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0) return undefined;
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
 * mixc's `-a`: the type is guessed from the text alone, in mixc's order
 * (INT64, DOUBLE, BOOL, TIMESTAMP, DURATION, hex bytes, STRING_MAP, else
 * STRING). A guess that differs from the manifest type fails later, when an
 * expression uses the attribute, with Mixer's message (see fromBag).
 */
export function guessAttributeType(text: string): TypedValue {
  for (const type of ['INT64', 'DOUBLE', 'BOOL', 'TIMESTAMP', 'DURATION', 'IP_ADDRESS', 'STRING_MAP'] as const) {
    const v = parseTyped(type, text);
    if (v) return v;
  }
  return { type: 'STRING', value: text };
}

/** `-a/--attributes name=v,...` entries added to `bag`, each typed by guessAttributeType. */
export function addGuessedAttributes(bag: Map<string, TypedValue>, text: string): void {
  if (text === '') return;
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new AttributeError(`--attributes: "${entry}" is not name=value`);
    bag.set(entry.slice(0, eq), guessAttributeType(entry.slice(eq + 1)));
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

// Go's type names, as Mixer prints them in "incorrect type" errors.
const GO_TYPE: Record<ValueType, string> = {
  STRING: 'string',
  EMAIL_ADDRESS: 'string',
  URI: 'string',
  DNS_NAME: 'string',
  INT64: 'int64',
  DOUBLE: 'float64',
  BOOL: 'bool',
  TIMESTAMP: 'time.Time',
  DURATION: 'time.Duration',
  IP_ADDRESS: '[]byte',
  STRING_MAP: 'attribute.StringMap',
};

// Go's %v of a value, as Mixer quotes it in conversion errors.
function goText(v: TypedValue): string {
  switch (v.type) {
    case 'DOUBLE':
      return goFloat(v.value);
    case 'TIMESTAMP':
      return formatRfc3339(v.value);
    case 'DURATION':
      return formatGoDuration(v.value);
    case 'IP_ADDRESS':
      return `[${[...v.value].join(' ')}]`;
    case 'STRING_MAP':
      return goMap(v.value);
    case 'INT64':
    case 'BOOL':
      return String(v.value);
    case 'STRING':
    case 'EMAIL_ADDRESS':
    case 'URI':
    case 'DNS_NAME':
      return v.value;
    default: {
      const unreachable: never = v;
      throw new Error(`unknown value ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * A bag value read as its manifest type `type`, the way Mixer's evaluator
 * reads it (verified with realmixer): strings serve every string-like type,
 * INT64 and DURATION convert into each other, anything else is an error
 * with Mixer's message (e.g. `incorrect type for IP_ADDRESS. got: string, want: []byte`).
 */
export function fromBag(v: TypedValue, type: ValueType): TypedValue | { error: string } {
  if (v.type === type) return v;
  switch (type) {
    case 'STRING':
    case 'EMAIL_ADDRESS':
    case 'URI':
    case 'DNS_NAME':
      return isStringLike(v.type)
        ? { type, value: v.value as string }
        : { error: `error converting value to string: '${goText(v)}'` };
    case 'INT64':
    case 'DURATION':
      if (v.type === 'INT64' || v.type === 'DURATION') return { type, value: v.value };
      return { error: `error converting value to integer or duration: '${goText(v)}'` };
    case 'DOUBLE':
      return { error: `error converting value to double: '${goText(v)}'` };
    case 'BOOL':
      return { error: `error converting value to bool: '${goText(v)}'` };
    case 'IP_ADDRESS':
    case 'TIMESTAMP':
    case 'STRING_MAP':
      return { error: `incorrect type for ${type}. got: ${GO_TYPE[v.type]}, want: ${GO_TYPE[type]}` };
    default: {
      const unreachable: never = type;
      throw new Error(`unknown type ${String(unreachable)}`);
    }
  }
}

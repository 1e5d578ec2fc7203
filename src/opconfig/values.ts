// Typed attribute values as the stand-in holds them: one JS shape per
// istio.policy.v1beta1.ValueType, so the evaluator and the Value encoder
// share a single exhaustive switch.
import { isIP } from 'node:net';
import { ValueType as ProtoValueType } from '../generated/istio/policy/v1beta1/ValueType.js';

/** Every istio.policy.v1beta1.ValueType an attribute can have (all but UNSPECIFIED). */
export type ValueType = Exclude<keyof typeof ProtoValueType, 'VALUE_TYPE_UNSPECIFIED'>;
export const VALUE_TYPES: readonly ValueType[] = Object.keys(ProtoValueType).filter(
  (k): k is ValueType => k !== 'VALUE_TYPE_UNSPECIFIED',
);

export interface Timestamp {
  seconds: bigint;
  nanos: number;
}

export type TypedValue =
  | { type: 'STRING' | 'EMAIL_ADDRESS' | 'URI' | 'DNS_NAME'; value: string }
  | { type: 'INT64'; value: bigint }
  | { type: 'DOUBLE'; value: number }
  | { type: 'BOOL'; value: boolean }
  | { type: 'TIMESTAMP'; value: Timestamp }
  /** Nanoseconds. */
  | { type: 'DURATION'; value: bigint }
  | { type: 'IP_ADDRESS'; value: Uint8Array }
  | { type: 'STRING_MAP'; value: Record<string, string> };

export function isValueType(s: string): s is ValueType {
  return (VALUE_TYPES as readonly string[]).includes(s);
}

/** Types whose values are plain strings underneath. */
export function isStringLike(t: ValueType): t is 'STRING' | 'EMAIL_ADDRESS' | 'URI' | 'DNS_NAME' {
  return t === 'STRING' || t === 'EMAIL_ADDRESS' || t === 'URI' || t === 'DNS_NAME';
}

/** IPv4 in the 16-byte IPv4-mapped form, as Go's net.IP compares them. */
function ip16(b: Uint8Array): Uint8Array {
  if (b.length !== 4) return b;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(b, 12);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Equality as Mixer's `==`: same type required (checked before), IPs compared like net.IP.Equal. */
export function valuesEqual(a: TypedValue, b: TypedValue): boolean {
  switch (a.type) {
    case 'STRING':
    case 'EMAIL_ADDRESS':
    case 'URI':
    case 'DNS_NAME':
    case 'INT64':
    case 'DOUBLE':
    case 'BOOL':
    case 'DURATION':
      return a.value === b.value;
    case 'TIMESTAMP':
      return b.type === 'TIMESTAMP' && a.value.seconds === b.value.seconds && a.value.nanos === b.value.nanos;
    case 'IP_ADDRESS':
      return b.type === 'IP_ADDRESS' && sameBytes(ip16(a.value), ip16(b.value));
    case 'STRING_MAP': {
      if (b.type !== 'STRING_MAP') return false;
      const ka = Object.keys(a.value).sort();
      const kb = Object.keys(b.value).sort();
      return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.value[k] === b.value[k]);
    }
    default: {
      const unreachable: never = a;
      throw new Error(`unknown value type ${String(unreachable)}`);
    }
  }
}

/** IP text (checked with net.isIP first) -> bytes: IPv4 gives 4, IPv6 16. */
export function ipBytes(text: string): Uint8Array {
  if (isIP(text) === 4) return Uint8Array.from(text.split('.').map(Number));
  // Expand "::" and any embedded IPv4 tail, then read eight 16-bit groups.
  let s = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

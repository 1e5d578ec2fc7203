// Reading attribute values back into the fields of Envoy's messages: the
// helpers the CheckRequest and access-log builders share. A value of a type
// the field cannot hold is left out (the caller reports what did not travel).
import type { Bag } from '../../opconfig/attributes.js';
import { isStringLike, type Timestamp } from '../../opconfig/values.js';

export type Obj = Record<string, unknown>;

/** Sets `key` only when there is a value: protobufjs writes every field it is handed, empty ones too. */
export function put(obj: Obj, key: string, value: unknown): void {
  if (value !== undefined) obj[key] = value;
}

const SPIFFE = 'spiffe://';
const UINT32_MAX = 0xffff_ffffn;

/** A string-like attribute (STRING, DNS_NAME, ...). */
export function stringOf(bag: Bag, name: string): string | undefined {
  const v = bag.get(name);
  return v && isStringLike(v.type) ? (v.value as string) : undefined;
}

/** An INT64 attribute within [min, max]. */
export function intOf(bag: Bag, name: string, min = 0n, max = 2n ** 64n - 1n): bigint | undefined {
  const v = bag.get(name);
  return v?.type === 'INT64' && v.value >= min && v.value <= max ? v.value : undefined;
}

export const uint32Of = (bag: Bag, name: string): number | undefined => {
  const n = intOf(bag, name, 0n, UINT32_MAX);
  return n === undefined ? undefined : Number(n);
};

export function timestampOf(bag: Bag, name: string): Timestamp | undefined {
  const v = bag.get(name);
  return v?.type === 'TIMESTAMP' ? v.value : undefined;
}

export function stringMapOf(bag: Bag, name: string): Record<string, string> | undefined {
  const v = bag.get(name);
  return v?.type === 'STRING_MAP' ? v.value : undefined;
}

/** google.protobuf.Timestamp in protobufjs's object form (int64 as decimal text). */
export const timestampObject = (t: Timestamp) => ({ seconds: t.seconds.toString(), nanos: t.nanos });

/** google.protobuf.Duration from nanoseconds (non-negative). */
export function durationObject(nanos: bigint) {
  return { seconds: (nanos / 1_000_000_000n).toString(), nanos: Number(nanos % 1_000_000_000n) };
}

/** IP bytes as text: 4 bytes dotted, 16 bytes as eight hex groups (both read back to the same bytes). */
function ipText(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return undefined;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** `<prefix>.ip` and `<prefix>.port` as an envoy.config.core.v3.Address, or undefined when neither is given. */
export function socketAddressOf(bag: Bag, prefix: 'source' | 'destination') {
  const ip = bag.get(`${prefix}.ip`);
  const address = ip?.type === 'IP_ADDRESS' ? ipText(ip.value) : undefined;
  const port = uint32Of(bag, `${prefix}.port`);
  if (address === undefined && port === undefined) return undefined;
  const socket: Obj = {};
  put(socket, 'address', address);
  put(socket, 'port_value', port);
  return { socket_address: socket };
}

/** A principal as Envoy carries it: Mixer's attribute is an Istio identity without the SPIFFE scheme. */
export function spiffeOf(bag: Bag, name: string): string | undefined {
  const p = stringOf(bag, name);
  return p === undefined ? undefined : SPIFFE + p;
}

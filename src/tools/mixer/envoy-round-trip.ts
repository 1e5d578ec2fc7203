// The Envoy messages the stand-in sends, encoded with the project's protos,
// and read back the way the adapter reads them (the front-end's own mapping),
// so the stand-in can say which attributes of a set do not reach the adapter
// as given: those no field carries, and those of a type the field cannot hold.
import type protobuf from 'protobufjs';
import { decodePlain, ENVOY_DECODE_OPTIONS } from '../../wire/envoy.js';
import type { Bag } from '../../opconfig/attributes.js';
import { isStringLike, valuesEqual, type TypedValue } from '../../opconfig/values.js';
import { checkBag, type CheckRequestObject } from '../../frontends/envoy/check-attributes.js';
import {
  httpEntryBag,
  tcpEntryBag,
  type HttpEntryObject,
  type TcpEntryObject,
} from '../../frontends/envoy/log-attributes.js';

export function encodeObject(type: protobuf.Type, object: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

/** For people: as the adapter decodes, without the oneofs' virtual members (Address's `address: "socket_address"`). */
export function displayOf<T = Record<string, unknown>>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), { ...ENVOY_DECODE_OPTIONS, oneofs: false }) as T;
}

/** The attributes the adapter makes of a CheckRequest's bytes. */
export const seenInCheck = (type: protobuf.Type, bytes: Uint8Array): Bag =>
  checkBag(decodePlain<CheckRequestObject>(type, bytes));

interface LogsView {
  http_logs?: { log_entry?: HttpEntryObject[] };
  tcp_logs?: { log_entry?: TcpEntryObject[] };
}

/** The attributes the adapter makes of each entry of a StreamAccessLogsMessage's bytes. */
export function seenInLogs(type: protobuf.Type, bytes: Uint8Array): Bag[] {
  const v = decodePlain<LogsView>(type, bytes);
  return [...(v.http_logs?.log_entry ?? []).map(httpEntryBag), ...(v.tcp_logs?.log_entry ?? []).map(tcpEntryBag)];
}

/** As given reaches the adapter: the same value (a string type for a string type; a map's entries among the sent ones). */
function arrives(given: TypedValue, seen: TypedValue | undefined): boolean {
  if (!seen) return false;
  if (isStringLike(given.type)) return isStringLike(seen.type) && given.value === seen.value;
  if (given.type === 'STRING_MAP') {
    if (seen.type !== 'STRING_MAP') return false;
    return Object.entries(given.value).every(([k, v]) => seen.value[k] === v);
  }
  return given.type === seen.type && valuesEqual(given, seen);
}

/** The names in `given` that `seen` (what the adapter made of the message) does not hold as given, sorted. */
export function notCarried(given: Bag, seen: Bag): string[] {
  return [...given]
    .filter(([name, v]) => !arrives(v, seen.get(name)))
    .map(([name]) => name)
    .sort();
}

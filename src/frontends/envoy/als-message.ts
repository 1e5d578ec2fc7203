// One StreamAccessLogsMessage: what decoding it will cost, counted from its
// bytes before anything is allocated, then the message decoded into its
// identifier and entries.
import type protobuf from 'protobufjs';
import { InvalidInputError } from '../../common/errors.js';
import { CallTooLargeError } from '../../core/call-cost.js';
import { decodePlain, envoyProtos } from '../../wire/envoy.js';
import { decodeCost } from '../../wire/schema-cost.js';
import { WIRE_LEN, WireReader } from '../../wire/wire-reader.js';
import type { HttpEntryObject, TcpEntryObject } from './log-attributes.js';

/** What decoding a message will cost, from the walk over its bytes. */
export interface MessageCost {
  /** Entries of http_logs and tcp_logs. */
  entries: number;
  /** Estimated heap bytes of decoding it. */
  bytes: number;
}

/** A message too large to decode and report; its entries are counted as not written. */
export class MessageTooLargeError extends CallTooLargeError {
  override name = 'MessageTooLargeError';
  constructor(
    message: string,
    readonly entries: number,
  ) {
    super(message);
  }
}

/** Bytes that are not a StreamAccessLogsMessage; `entries` as far as the walk could count them. */
export class MalformedMessageError extends InvalidInputError {
  override name = 'MalformedMessageError';
  constructor(
    message: string,
    readonly entries: number,
  ) {
    super(message);
  }
}

export interface IdentifierObject {
  node?: { id?: string; cluster?: string };
  log_name?: string;
}

export interface LogsMessage {
  identifier: IdentifierObject | undefined;
  kind: 'http' | 'tcp' | undefined;
  entries: HttpEntryObject[] | TcpEntryObject[];
}

interface LogsMessageObject {
  identifier?: IdentifierObject;
  log_entries?: 'http_logs' | 'tcp_logs';
  http_logs?: { log_entry?: HttpEntryObject[] };
  tcp_logs?: { log_entry?: TcpEntryObject[] };
}

const HTTP_LOGS = 2;
const TCP_LOGS = 3;
const LOG_ENTRY = 1;

function malformed(type: protobuf.Type, err: unknown, entries: number): MalformedMessageError {
  return new MalformedMessageError(`not a valid ${type.name}: ${(err as Error).message}`, entries);
}

/** Entries in the message's http_logs and tcp_logs fields (every occurrence). */
function countEntries(bytes: Uint8Array): number {
  const r = new WireReader(bytes);
  let entries = 0;
  while (r.pos < r.limit) {
    r.tag();
    const field = r.field;
    if ((field !== HTTP_LOGS && field !== TCP_LOGS) || r.wire !== WIRE_LEN) {
      r.skipField();
      continue;
    }
    const outer = r.enter();
    while (r.pos < r.limit) {
      r.tag();
      if (r.field === LOG_ENTRY && r.wire === WIRE_LEN) entries++;
      r.skipField();
    }
    r.leave(outer);
  }
  return entries;
}

/** The cost of decoding `bytes`; MalformedMessageError when they are not protobuf. */
export function messageCost(bytes: Uint8Array): MessageCost {
  const type = envoyProtos().logsMessage;
  let entries = 0;
  try {
    entries = countEntries(bytes);
    return { entries, bytes: decodeCost(type, bytes).bytes };
  } catch (err) {
    throw malformed(type, err, entries);
  }
}

/** MessageTooLargeError when `estimate` (bytes) is over `bound` (a quarter of --max-decode-bytes). */
export function admitMessage(entries: number, length: number, estimate: number, bound: number): void {
  if (estimate <= bound) return;
  throw new MessageTooLargeError(
    `access-log message not reported: ${entries} entries in ${length} bytes, about ${estimate} bytes to ` +
      `decode and report; the per-message bound is ${bound} (a quarter of --max-decode-bytes)`,
    entries,
  );
}

/** The message's identifier and entries; MalformedMessageError when its bytes do not decode. */
export function decodeLogsMessage(bytes: Uint8Array, entries = 0): LogsMessage {
  const type = envoyProtos().logsMessage;
  let msg: LogsMessageObject;
  try {
    msg = decodePlain<LogsMessageObject>(type, bytes);
  } catch (err) {
    throw malformed(type, err, entries);
  }
  // The oneof as protobufjs read it: the last of http_logs and tcp_logs.
  const kind = msg.log_entries === 'http_logs' ? 'http' : msg.log_entries === 'tcp_logs' ? 'tcp' : undefined;
  const list = (kind === 'http' ? msg.http_logs?.log_entry : kind === 'tcp' ? msg.tcp_logs?.log_entry : []) ?? [];
  return { identifier: msg.identifier, kind, entries: list };
}

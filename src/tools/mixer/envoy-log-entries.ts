// mixc-style attributes -> the access-log entries Envoy's gRPC loggers would
// stream for them: the inverse of frontends/envoy/log-attributes.ts. A set
// whose context.protocol is "tcp" becomes a TCP entry, any other an HTTP
// entry. Sizes are split back into body and header bytes, response.time
// back into an offset from the start, context.proxy_error_code back into
// response flags, destination.service.host into an Istio cluster name.
import type { Bag } from '../../opconfig/attributes.js';
import { FLAG_CODES } from '../../frontends/envoy/log-attributes.js';
import { envoyProtos } from '../../wire/envoy.js';
import { headersOf } from './envoy-check-request.js';
import {
  durationObject,
  intOf,
  put,
  socketAddressOf,
  spiffeOf,
  stringMapOf,
  stringOf,
  timestampObject,
  timestampOf,
  uint32Of,
  type Obj,
} from './envoy-values.js';

export type LogKind = 'http' | 'tcp';

export const logKindOf = (bag: Bag): LogKind => (stringOf(bag, 'context.protocol') === 'tcp' ? 'tcp' : 'http');

/** Istio's log names for its HTTP and TCP loggers (meshConfig's access-log service). */
export const LOG_NAMES: Record<LogKind, string> = { http: 'http_envoy_accesslog', tcp: 'tcp_envoy_accesslog' };

const FLAG_OF_CODE = new Map(FLAG_CODES.map(([field, code]) => [code, field]));

function responseFlagsOf(bag: Bag): Obj | undefined {
  const text = stringOf(bag, 'context.proxy_error_code');
  if (text === undefined || text === '-') return undefined;
  const flags: Obj = {};
  for (const code of text.split(',')) {
    const field = FLAG_OF_CODE.get(code);
    // UAEX is a message (the reason), the others are booleans; an unknown code is left out.
    if (field) flags[field] = field === 'unauthorized_details' ? {} : true;
  }
  return flags;
}

function tlsOf(bag: Bag): Obj | undefined {
  const tls: Obj = {};
  const san = (uri: string | undefined) => (uri === undefined ? undefined : { subject_alt_name: [{ uri }] });
  put(tls, 'local_certificate_properties', san(spiffeOf(bag, 'destination.principal')));
  put(tls, 'peer_certificate_properties', san(spiffeOf(bag, 'source.principal')));
  put(tls, 'tls_sni_hostname', stringOf(bag, 'connection.requested_server_name'));
  return Object.keys(tls).length > 0 ? tls : undefined;
}

/** AccessLogCommon; `start` is the attribute the entry's start_time comes from. */
function commonOf(bag: Bag, start: 'request.time' | 'context.time'): Obj {
  const c: Obj = {};
  put(c, 'downstream_local_address', socketAddressOf(bag, 'destination'));
  // The physical peer, which the adapter reads (downstream_remote_address may be X-Forwarded-For's).
  put(c, 'downstream_direct_remote_address', socketAddressOf(bag, 'source'));
  put(c, 'tls_properties', tlsOf(bag));
  const t = timestampOf(bag, start);
  if (t) c.start_time = timestampObject(t);
  const host = stringOf(bag, 'destination.service.host');
  if (host !== undefined) c.upstream_cluster = `inbound|${uint32Of(bag, 'destination.port') ?? 0}||${host}`;
  put(c, 'response_flags', responseFlagsOf(bag));
  return c;
}

const NANOS = 1_000_000_000n;

/** response.time as the offset of the first upstream byte from request.time. */
function firstByteOf(bag: Bag): Obj | undefined {
  const start = timestampOf(bag, 'request.time');
  const end = timestampOf(bag, 'response.time');
  if (!start || !end) return undefined;
  const offset = end.seconds * NANOS + BigInt(end.nanos) - (start.seconds * NANOS + BigInt(start.nanos));
  return offset >= 0n ? durationObject(offset) : undefined;
}

function durationAttribute(bag: Bag, name: string): Obj | undefined {
  const v = bag.get(name);
  return v?.type === 'DURATION' && v.value >= 0n ? durationObject(v.value) : undefined;
}

/** `<prefix>.size` and `<prefix>.total_size` -> body bytes and header bytes (as decimal text, uint64). */
function sizesOf(bag: Bag, prefix: 'request' | 'response'): { body?: string; headers?: string } {
  const body = intOf(bag, `${prefix}.size`);
  const total = intOf(bag, `${prefix}.total_size`);
  const out: { body?: string; headers?: string } = {};
  if (body !== undefined) out.body = body.toString();
  if (total !== undefined && total >= (body ?? 0n)) out.headers = (total - (body ?? 0n)).toString();
  return out;
}

let methods: Set<string> | undefined;

/** request.method when it is one of the RequestMethod names Envoy's entries can carry. */
function methodOf(bag: Bag): string | undefined {
  methods ??= new Set(
    Object.keys(envoyProtos().root.lookupEnum('envoy.data.accesslog.v3.RequestMethod').values).filter(
      (m) => m !== 'METHOD_UNSPECIFIED',
    ),
  );
  const m = stringOf(bag, 'request.method');
  return m !== undefined && methods.has(m) ? m : undefined;
}

/** envoy.data.accesslog.v3.HTTPAccessLogEntry (protobufjs object form). */
export function httpEntryOf(bag: Bag): Obj {
  const common = commonOf(bag, 'request.time');
  put(common, 'time_to_first_upstream_rx_byte', firstByteOf(bag));
  put(common, 'time_to_last_downstream_tx_byte', durationAttribute(bag, 'response.duration'));
  const request: Obj = { request_headers: headersOf(bag) };
  put(request, 'request_method', methodOf(bag));
  put(request, 'scheme', stringOf(bag, 'request.scheme'));
  put(request, 'authority', stringOf(bag, 'request.host'));
  put(request, 'path', stringOf(bag, 'request.path'));
  put(request, 'user_agent', stringOf(bag, 'request.useragent'));
  put(request, 'request_id', stringOf(bag, 'request.id'));
  const reqSizes = sizesOf(bag, 'request');
  put(request, 'request_headers_bytes', reqSizes.headers);
  put(request, 'request_body_bytes', reqSizes.body);
  const response: Obj = {};
  const code = uint32Of(bag, 'response.code');
  if (code !== undefined) response.response_code = { value: code };
  const resSizes = sizesOf(bag, 'response');
  put(response, 'response_headers_bytes', resSizes.headers);
  put(response, 'response_body_bytes', resSizes.body);
  put(response, 'response_headers', stringMapOf(bag, 'response.headers'));
  return {
    common_properties: common,
    // Not read by the adapter; what Envoy would say for such a request.
    protocol_version: stringOf(bag, 'context.protocol') === 'grpc' ? 'HTTP2' : 'HTTP11',
    request,
    response,
  };
}

/** envoy.data.accesslog.v3.TCPAccessLogEntry (protobufjs object form). */
export function tcpEntryOf(bag: Bag): Obj {
  const connection: Obj = {};
  put(connection, 'received_bytes', intOf(bag, 'connection.received.bytes')?.toString());
  put(connection, 'sent_bytes', intOf(bag, 'connection.sent.bytes')?.toString());
  return { common_properties: commonOf(bag, 'context.time'), connection_properties: connection };
}

/** One StreamAccessLogsMessage with every entry of one kind, opening its stream (so with the identifier). */
export function logsMessageOf(kind: LogKind, bags: readonly Bag[]): Obj {
  const identifier = {
    node: { id: 'mygrpcadapter-standin', cluster: 'mygrpcadapter-standin', user_agent_name: 'mygrpcadapter mixer' },
    log_name: LOG_NAMES[kind],
  };
  return kind === 'http'
    ? { identifier, http_logs: { log_entry: bags.map(httpEntryOf) } }
    : { identifier, tcp_logs: { log_entry: bags.map(tcpEntryOf) } };
}

// An access-log entry -> the attribute bag Mixer saw for it (Istio 1.7's
// bridge, contract §6.3), with two of the bridge's faults put right:
// response.time adds the whole time to the first upstream byte (the bridge
// added only its nanos), and destination.service.host is set only from what
// the entry holds (the bridge's unchecked read of a missing request.host).
// Beyond the bridge: request.id, request.size, request.total_size and
// response.duration, which Envoy's entries carry and Mixer's own filter sent.
import type { Bag } from '../../opconfig/attributes.js';
import {
  addAddress,
  addPrincipal,
  durationNanos,
  GRPC_CONTENT_TYPE,
  timestamp,
  type AddressObject,
  type MutableBag,
} from './peer-attributes.js';

type Duration = { seconds?: string; nanos?: number };

interface CertificateObject {
  subject_alt_name?: { uri?: string; dns?: string }[];
}

export interface CommonObject {
  downstream_direct_remote_address?: AddressObject;
  downstream_local_address?: AddressObject;
  tls_properties?: {
    tls_sni_hostname?: string;
    local_certificate_properties?: CertificateObject;
    peer_certificate_properties?: CertificateObject;
  };
  start_time?: { seconds?: string; nanos?: number };
  time_to_first_upstream_rx_byte?: Duration;
  time_to_last_downstream_tx_byte?: Duration;
  upstream_cluster?: string;
  response_flags?: Record<string, unknown>;
}

export interface HttpEntryObject {
  common_properties?: CommonObject;
  request?: {
    request_method?: string;
    scheme?: string;
    authority?: string;
    path?: string;
    user_agent?: string;
    request_id?: string;
    request_headers_bytes?: string;
    request_body_bytes?: string;
    request_headers?: Record<string, string>;
  };
  response?: {
    response_code?: { value?: number };
    response_headers_bytes?: string;
    response_body_bytes?: string;
    response_headers?: Record<string, string>;
  };
}

export interface TcpEntryObject {
  common_properties?: CommonObject;
  connection_properties?: { received_bytes?: string; sent_bytes?: string };
}

// Envoy's short codes, in the order Mixer's bridge joined them (contract §6.3).
export const FLAG_CODES: [string, string][] = [
  ['failed_local_healthcheck', 'LH'],
  ['no_healthy_upstream', 'UH'],
  ['upstream_request_timeout', 'UT'],
  ['local_reset', 'LR'],
  ['upstream_remote_reset', 'UR'],
  ['upstream_connection_failure', 'UF'],
  ['upstream_connection_termination', 'UC'],
  ['upstream_overflow', 'UO'],
  ['no_route_found', 'NR'],
  ['delay_injected', 'DI'],
  ['fault_injected', 'FI'],
  ['rate_limited', 'RL'],
  ['unauthorized_details', 'UAEX'],
  ['rate_limit_service_error', 'RLSE'],
  ['downstream_connection_termination', 'DC'],
  ['upstream_retry_limit_exceeded', 'URX'],
  ['stream_idle_timeout', 'SI'],
  ['invalid_envoy_request_headers', 'IH'],
  ['downstream_protocol_error', 'DPE'],
];

/** context.proxy_error_code: the flags set, comma-joined, or "-". */
export function proxyErrorCode(flags: Record<string, unknown> | undefined): string {
  if (!flags) return '-';
  const set = FLAG_CODES.filter(([field]) => {
    const v = flags[field];
    return v === true || (typeof v === 'object' && v !== null);
  }).map(([, code]) => code);
  return set.length > 0 ? set.join(',') : '-';
}

const int = (text: string | number | undefined): bigint => BigInt(text ?? 0);

function firstUri(cert: CertificateObject | undefined): string | undefined {
  return cert?.subject_alt_name?.[0]?.uri;
}

function addCommon(bag: MutableBag, c: CommonObject): void {
  bag.set('context.reporter.kind', { type: 'STRING', value: 'inbound' });
  bag.set('context.reporter.uid', { type: 'STRING', value: 'envoy_accesslog_service' });
  addAddress(bag, 'destination', c.downstream_local_address);
  // The physical peer: downstream_remote_address may come from X-Forwarded-For.
  addAddress(bag, 'source', c.downstream_direct_remote_address);
  bag.set('context.proxy_error_code', { type: 'STRING', value: proxyErrorCode(c.response_flags) });
  const tls = c.tls_properties;
  if (tls) {
    const local = firstUri(tls.local_certificate_properties);
    if (local !== undefined) addPrincipal(bag, 'destination', local);
    const peer = firstUri(tls.peer_certificate_properties);
    if (peer !== undefined) addPrincipal(bag, 'source', peer);
    bag.set('connection.requested_server_name', { type: 'STRING', value: tls.tls_sni_hostname ?? '' });
  }
}

/** destination.service.host/name/namespace: from an Istio cluster name `dir|port|subset|host`, else the request's host. */
function addDestinationService(bag: MutableBag, cluster: string | undefined, host: string | undefined): void {
  const parts = (cluster ?? '').split('|');
  const serviceHost = parts.length === 4 && parts[3] !== '' ? parts[3] : host;
  if (!serviceHost) return;
  bag.set('destination.service.host', { type: 'STRING', value: serviceHost });
  const labels = serviceHost.split('.');
  bag.set('destination.service.name', { type: 'STRING', value: labels[0]! });
  if (labels.length > 1) bag.set('destination.service.namespace', { type: 'STRING', value: labels[1]! });
}

export function httpEntryBag(entry: HttpEntryObject): Bag {
  const bag: MutableBag = new Map();
  const c = entry.common_properties ?? {};
  addCommon(bag, c);
  const req = entry.request ?? {};
  const res = entry.response ?? {};
  const headers = req.request_headers ?? {};
  const grpc = (headers['content-type'] ?? '').startsWith(GRPC_CONTENT_TYPE);
  bag.set('context.protocol', { type: 'STRING', value: grpc ? 'grpc' : 'http' });
  const start = timestamp(c.start_time);
  if (start) {
    bag.set('request.time', start);
    const toFirstByte = durationNanos(c.time_to_first_upstream_rx_byte);
    if (toFirstByte !== undefined) bag.set('response.time', addNanos(start, toFirstByte));
    const total = durationNanos(c.time_to_last_downstream_tx_byte);
    if (total !== undefined) bag.set('response.duration', { type: 'DURATION', value: total });
  }
  bag.set('request.host', { type: 'STRING', value: req.authority ?? '' });
  bag.set('request.method', { type: 'STRING', value: req.request_method ?? 'METHOD_UNSPECIFIED' });
  bag.set('request.path', { type: 'STRING', value: req.path ?? '' });
  bag.set('request.scheme', { type: 'STRING', value: req.scheme ?? '' });
  bag.set('request.useragent', { type: 'STRING', value: req.user_agent ?? '' });
  if (req.request_id) bag.set('request.id', { type: 'STRING', value: req.request_id });
  bag.set('request.headers', { type: 'STRING_MAP', value: headers });
  bag.set('request.size', { type: 'INT64', value: int(req.request_body_bytes) });
  bag.set('request.total_size', {
    type: 'INT64',
    value: int(req.request_body_bytes) + int(req.request_headers_bytes),
  });
  bag.set('response.headers', { type: 'STRING_MAP', value: res.response_headers ?? {} });
  bag.set('response.code', { type: 'INT64', value: BigInt(res.response_code?.value ?? 0) });
  bag.set('response.size', { type: 'INT64', value: int(res.response_body_bytes) });
  bag.set('response.total_size', {
    type: 'INT64',
    value: int(res.response_body_bytes) + int(res.response_headers_bytes),
  });
  addDestinationService(bag, c.upstream_cluster, req.authority);
  return bag;
}

export function tcpEntryBag(entry: TcpEntryObject): Bag {
  const bag: MutableBag = new Map();
  const c = entry.common_properties ?? {};
  addCommon(bag, c);
  bag.set('context.protocol', { type: 'STRING', value: 'tcp' });
  const start = timestamp(c.start_time);
  if (start) bag.set('context.time', start);
  const conn = entry.connection_properties ?? {};
  bag.set('connection.received.bytes', { type: 'INT64', value: int(conn.received_bytes) });
  bag.set('connection.sent.bytes', { type: 'INT64', value: int(conn.sent_bytes) });
  addDestinationService(bag, c.upstream_cluster, undefined);
  return bag;
}

function addNanos(t: { type: 'TIMESTAMP'; value: { seconds: bigint; nanos: number } }, nanos: bigint) {
  const total = t.value.seconds * 1_000_000_000n + BigInt(t.value.nanos) + nanos;
  return {
    type: 'TIMESTAMP' as const,
    value: { seconds: total / 1_000_000_000n, nanos: Number(total % 1_000_000_000n) },
  };
}

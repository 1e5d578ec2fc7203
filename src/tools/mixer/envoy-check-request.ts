// mixc-style attributes -> the ext_authz CheckRequest Envoy's filter would
// send for them: the inverse of frontends/envoy/check-attributes.ts, so the
// adapter's mapping gives the same attributes back. context.protocol "tcp"
// makes a network-filter check (peers only); "grpc" puts the gRPC
// content-type among the headers, as only that tells the adapter.
import type { Bag } from '../../opconfig/attributes.js';
import { GRPC_CONTENT_TYPE } from '../../frontends/envoy/peer-attributes.js';
import {
  put,
  socketAddressOf,
  spiffeOf,
  stringMapOf,
  stringOf,
  timestampObject,
  timestampOf,
  type Obj,
} from './envoy-values.js';

function peerOf(bag: Bag, prefix: 'source' | 'destination'): Obj | undefined {
  const peer: Obj = {};
  put(peer, 'address', socketAddressOf(bag, prefix));
  put(peer, 'principal', spiffeOf(bag, `${prefix}.principal`));
  return Object.keys(peer).length > 0 ? peer : undefined;
}

/** The request headers: request.headers, with request.useragent and a gRPC content-type added. */
export function headersOf(bag: Bag): Record<string, string> {
  const headers = { ...(stringMapOf(bag, 'request.headers') ?? {}) };
  const agent = stringOf(bag, 'request.useragent');
  if (agent !== undefined) headers['user-agent'] = agent;
  const grpc = stringOf(bag, 'context.protocol') === 'grpc';
  if (grpc && !(headers['content-type'] ?? '').startsWith(GRPC_CONTENT_TYPE))
    headers['content-type'] = GRPC_CONTENT_TYPE;
  return headers;
}

/** envoy.service.auth.v3.CheckRequest (protobufjs object form, proto field names). */
export function checkRequestOf(bag: Bag): Obj {
  const attributes: Obj = {};
  put(attributes, 'source', peerOf(bag, 'source'));
  put(attributes, 'destination', peerOf(bag, 'destination'));
  if (stringOf(bag, 'context.protocol') !== 'tcp') {
    const http: Obj = { headers: headersOf(bag) };
    put(http, 'method', stringOf(bag, 'request.method'));
    put(http, 'path', stringOf(bag, 'request.path'));
    put(http, 'host', stringOf(bag, 'request.host'));
    put(http, 'scheme', stringOf(bag, 'request.scheme'));
    // What Envoy fills and the adapter does not read: the request looks like Envoy's.
    http.protocol = stringOf(bag, 'context.protocol') === 'grpc' ? 'HTTP/2' : 'HTTP/1.1';
    const request: Obj = { http };
    const time = timestampOf(bag, 'request.time');
    if (time) request.time = timestampObject(time);
    attributes.request = request;
  }
  return { attributes };
}

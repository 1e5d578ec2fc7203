// An ext_authz CheckRequest -> the attribute bag Mixer saw for it (Istio
// 1.7's bridge, contract §6.2): the peers, the HTTP request with all its
// headers, context.protocol from content-type. A TCP check (network filter)
// has no request: its protocol is "tcp".
import type { Bag } from '../../opconfig/attributes.js';
import {
  addAddress,
  addPrincipal,
  GRPC_CONTENT_TYPE,
  timestamp,
  type AddressObject,
  type MutableBag,
} from './peer-attributes.js';

interface PeerObject {
  address?: AddressObject;
  principal?: string;
}

/** envoy.service.auth.v3.CheckRequest as decoded (toObject, keepCase, longs as strings). */
export interface CheckRequestObject {
  attributes?: {
    source?: PeerObject;
    destination?: PeerObject;
    request?: {
      time?: { seconds?: string; nanos?: number };
      http?: {
        method?: string;
        headers?: Record<string, string>;
        path?: string;
        host?: string;
        scheme?: string;
      };
    };
  };
}

const str = (bag: MutableBag, name: string, value: string | undefined): void => {
  if (value !== undefined) bag.set(name, { type: 'STRING', value });
};

export function checkBag(req: CheckRequestObject): Bag {
  const bag: MutableBag = new Map();
  bag.set('context.reporter.kind', { type: 'STRING', value: 'inbound' });
  const a = req.attributes ?? {};
  if (a.destination) {
    addAddress(bag, 'destination', a.destination.address);
    addPrincipal(bag, 'destination', a.destination.principal ?? '');
  }
  if (a.source) {
    addAddress(bag, 'source', a.source.address);
    if (a.source.principal) addPrincipal(bag, 'source', a.source.principal);
  }
  const time = timestamp(a.request?.time);
  if (time) bag.set('request.time', time);
  const http = a.request?.http;
  if (!http) {
    bag.set('context.protocol', { type: 'STRING', value: 'tcp' });
    return bag;
  }
  const headers = http.headers ?? {};
  bag.set('request.headers', { type: 'STRING_MAP', value: headers });
  str(bag, 'request.host', http.host);
  str(bag, 'request.method', http.method);
  str(bag, 'request.path', http.path);
  str(bag, 'request.scheme', http.scheme);
  str(bag, 'request.useragent', headers['user-agent']);
  const grpc = (headers['content-type'] ?? '').startsWith(GRPC_CONTENT_TYPE);
  bag.set('context.protocol', { type: 'STRING', value: grpc ? 'grpc' : 'http' });
  return bag;
}

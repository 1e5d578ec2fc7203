// Attribute sets as the stand-in holds them (typed values), for the tests
// that send the same set through Mixer's path and through Envoy's: shorthands
// and the sets of the differential tests.
import type { Bag } from '../../src/opconfig/attributes.js';
import { ipBytes, type TypedValue } from '../../src/opconfig/values.js';
import { parseRfc3339 } from '../../src/opconfig/time.js';

export const s = (value: string): TypedValue => ({ type: 'STRING', value });
export const i = (value: number | bigint): TypedValue => ({ type: 'INT64', value: BigInt(value) });
export const ip = (text: string): TypedValue => ({ type: 'IP_ADDRESS', value: ipBytes(text) });
export const t = (text: string): TypedValue => ({ type: 'TIMESTAMP', value: parseRfc3339(text)! });
export const d = (nanos: bigint): TypedValue => ({ type: 'DURATION', value: nanos });
export const m = (value: Record<string, string>): TypedValue => ({ type: 'STRING_MAP', value });

export const bag = (entries: Record<string, TypedValue>): Bag => new Map(Object.entries(entries));

/** The two ends of an inbound request in a mesh. */
export const PEERS = {
  'source.ip': ip('10.1.2.3'),
  'source.port': i(43210),
  'source.principal': s('cluster.local/ns/default/sa/productpage'),
  'destination.ip': ip('10.4.5.6'),
  'destination.port': i(9080),
  'destination.principal': s('cluster.local/ns/default/sa/reviews'),
};

/** An HTTP request's own attributes, headers apart. */
export const REQUEST = {
  'request.host': s('reviews:9080'),
  'request.method': s('GET'),
  'request.path': s('/reviews/1?x=1'),
  'request.scheme': s('http'),
  'request.useragent': s('curl/8.5.0'),
  'request.time': t('2023-11-14T22:13:20.000000005Z'),
};

const headers = (h: Record<string, string>) => ({ 'request.headers': m({ accept: '*/*', ...h }) });

/** Check sets: each is carried whole by a CheckRequest. */
export const CHECK_SETS: Record<string, Bag> = {
  allow: bag({ ...PEERS, ...REQUEST, ...headers({ 'x-custom-token': 'abc' }) }),
  'wrong key': bag({ ...PEERS, ...REQUEST, ...headers({ 'x-custom-token': 'wrong' }) }),
  'missing header': bag({ ...PEERS, ...REQUEST, ...headers({}) }),
  tcp: bag({ ...PEERS, 'context.protocol': s('tcp') }),
  grpc: bag({
    ...PEERS,
    ...REQUEST,
    'request.path': s('/pkg.Service/Method'),
    'context.protocol': s('grpc'),
    ...headers({ 'x-custom-token': 'abc' }),
  }),
  'no peers, no time': bag({ 'request.headers': m({ 'x-custom-token': 'abc' }) }),
  'key with a trailing space': bag({ ...REQUEST, ...headers({ 'x-custom-token': 'abc ' }) }),
  'empty key': bag({ ...REQUEST, ...headers({ 'x-custom-token': '' }) }),
  'key in upper case header name': bag({ ...REQUEST, ...headers({ 'X-Custom-Token': 'abc' }) }),
  'unicode and punctuation': bag({
    ...REQUEST,
    ...headers({ 'x-custom-token': 'äbc✓ "q" \\ ; , : = \t', 'x-ünïcode': '日本語' }),
  }),
  'NUL and line breaks': bag({ ...REQUEST, ...headers({ 'x-custom-token': 'a\u0000b\r\nc' }) }),
  '8 KiB key': bag({ ...REQUEST, ...headers({ 'x-custom-token': 'k'.repeat(8192) }) }),
  'IPv6 peers': bag({
    ...PEERS,
    'source.ip': ip('2001:db8::1'),
    'destination.ip': ip('::ffff:10.4.5.6'),
    ...headers({ 'x-custom-token': 'abc' }),
  }),
};

/** Report sets: response.code is given, since an HTTP entry without one reads back as code 0. */
export const REPORT_SETS: Record<string, Bag> = {
  http: bag({ ...PEERS, ...REQUEST, 'request.size': i(1235), 'response.code': i(200), ...headers({}) }),
  'http error': bag({ ...PEERS, ...REQUEST, 'request.size': i(0), 'response.code': i(503) }),
  'no size': bag({ ...REQUEST, 'response.code': i(404) }),
  tcp: bag({
    ...PEERS,
    'context.protocol': s('tcp'),
    'connection.received.bytes': i(10),
    'connection.sent.bytes': i(20),
  }),
  'large size, unusual headers': bag({
    ...REQUEST,
    'request.size': i(2n ** 40n),
    'response.code': i(200),
    ...headers({ 'x-ünïcode': '日本語', 'x-custom-token': 'a\u0000b' }),
  }),
};

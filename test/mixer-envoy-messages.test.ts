// The stand-in's Envoy messages are the inverse of the front-end's mapping:
// each attribute set, built into a CheckRequest or an access-log entry with
// the project's protos and read back by the adapter's own mapping, gives
// the same attributes; what a message cannot carry is named, not dropped
// silently.
import { describe, expect, it } from 'vitest';
import type { Bag } from '../src/opconfig/attributes.js';
import { envoyProtos } from '../src/wire/envoy.js';
import { checkRequestOf } from '../src/tools/mixer/envoy-check-request.js';
import { logKindOf, logsMessageOf } from '../src/tools/mixer/envoy-log-entries.js';
import { displayOf, encodeObject, notCarried, seenInCheck, seenInLogs } from '../src/tools/mixer/envoy-round-trip.js';
import { bag, CHECK_SETS, d, i, ip, m, PEERS, REPORT_SETS, REQUEST, s, t } from './helpers/envoy-sets.js';

const { checkRequest, logsMessage } = envoyProtos();

function checkRoundTrip(given: Bag) {
  const bytes = encodeObject(checkRequest, checkRequestOf(given));
  const seen = seenInCheck(checkRequest, bytes);
  return { bytes, seen, request: displayOf(checkRequest, bytes), notCarried: notCarried(given, seen) };
}

function logRoundTrip(sets: Bag[]) {
  const bytes = encodeObject(logsMessage, logsMessageOf(logKindOf(sets[0]!), sets));
  const seen = seenInLogs(logsMessage, bytes);
  return {
    seen,
    message: displayOf(logsMessage, bytes),
    notCarried: sets.flatMap((set, n) => notCarried(set, seen[n]!)),
  };
}

describe('CheckRequest from attributes', () => {
  it.each(Object.entries(CHECK_SETS))('carries the set "%s" whole', (_name, set) => {
    expect(checkRoundTrip(set).notCarried).toEqual([]);
  });

  it('fills the fields Envoy fills: spiffe:// principals, socket addresses, the HTTP request, user-agent among the headers', () => {
    expect(checkRoundTrip(CHECK_SETS.allow!).request).toEqual({
      attributes: {
        source: {
          address: { socket_address: { address: '10.1.2.3', port_value: 43210 } },
          principal: 'spiffe://cluster.local/ns/default/sa/productpage',
        },
        destination: {
          address: { socket_address: { address: '10.4.5.6', port_value: 9080 } },
          principal: 'spiffe://cluster.local/ns/default/sa/reviews',
        },
        request: {
          time: { seconds: '1700000000', nanos: 5 },
          http: {
            method: 'GET',
            headers: { accept: '*/*', 'x-custom-token': 'abc', 'user-agent': 'curl/8.5.0' },
            path: '/reviews/1?x=1',
            host: 'reviews:9080',
            scheme: 'http',
            protocol: 'HTTP/1.1',
          },
        },
      },
    });
  });

  it('gives the adapter what its mapping adds: reporter kind, namespaces from the principals, the protocol', () => {
    const { seen } = checkRoundTrip(CHECK_SETS.allow!);
    expect(seen.get('context.reporter.kind')).toEqual(s('inbound'));
    expect(seen.get('source.namespace')).toEqual(s('default'));
    expect(seen.get('context.protocol')).toEqual(s('http'));
  });

  it('marks gRPC with its content-type, keeping a gRPC content-type that is there', () => {
    expect(checkRoundTrip(CHECK_SETS.grpc!).seen.get('request.headers')).toMatchObject(
      m({ 'content-type': 'application/grpc' }),
    );
    const proto = bag({
      'context.protocol': s('grpc'),
      'request.headers': m({ 'content-type': 'application/grpc+proto' }),
    });
    const { seen, notCarried: lost } = checkRoundTrip(proto);
    expect(seen.get('request.headers')).toEqual(m({ 'content-type': 'application/grpc+proto' }));
    expect(lost).toEqual([]);
  });

  it('sends a TCP check (context.protocol tcp) with the peers only', () => {
    expect(checkRoundTrip(CHECK_SETS.tcp!).request).toEqual({
      attributes: {
        source: expect.anything(),
        destination: expect.anything(),
      },
    });
  });

  it('names what it cannot carry as given', () => {
    const given = bag({
      ...REQUEST,
      'request.size': i(5), // no field
      'destination.service': s('x'), // no field
      'source.ip': s('10.0.0.1'), // a string, not IP_ADDRESS
      'request.headers': m({ 'user-agent': 'other' }), // request.useragent replaces it
      'context.protocol': s('http'),
      'request.headers2': m({}),
    });
    expect(checkRoundTrip(given).notCarried).toEqual([
      'destination.service',
      'request.headers',
      'request.headers2',
      'request.size',
      'source.ip',
    ]);
    const tcp = bag({
      ...PEERS,
      'context.protocol': s('tcp'),
      'request.path': s('/'),
      'request.time': t('2020-01-01T00:00:00Z'),
    });
    expect(checkRoundTrip(tcp).notCarried).toEqual(['request.path', 'request.time']);
  });
});

describe('access-log entries from attributes', () => {
  it.each(Object.entries(REPORT_SETS))('carries the set "%s" whole', (_name, set) => {
    expect(logRoundTrip([set]).notCarried).toEqual([]);
  });

  it('carries every attribute the adapter reads from an HTTP entry', () => {
    const full = bag({
      ...PEERS,
      ...REQUEST,
      'request.id': s('req-1'),
      'request.size': i(100),
      'request.total_size': i(350),
      'request.headers': m({ 'content-type': 'text/plain' }),
      'response.code': i(201),
      'response.size': i(7),
      'response.total_size': i(99),
      'response.headers': m({ server: 'envoy' }),
      'response.time': t('2023-11-14T22:13:21.5Z'),
      'response.duration': d(2_500_000_000n),
      'context.proxy_error_code': s('UF,UAEX'),
      'connection.requested_server_name': s('reviews.default.svc'),
      'destination.service.host': s('reviews.default.svc.cluster.local'),
      'destination.service.name': s('reviews'),
      'destination.service.namespace': s('default'),
      'context.reporter.kind': s('inbound'),
    });
    const { notCarried: lost, message } = logRoundTrip([full]);
    expect(lost).toEqual([]);
    expect(message).toMatchObject({
      identifier: { log_name: 'http_envoy_accesslog' },
      http_logs: {
        log_entry: [
          {
            common_properties: {
              time_to_first_upstream_rx_byte: { seconds: '1', nanos: 499_999_995 },
              upstream_cluster: 'inbound|9080||reviews.default.svc.cluster.local',
              response_flags: { upstream_connection_failure: true, unauthorized_details: {} },
            },
            request: { request_headers_bytes: '250', request_body_bytes: '100', request_method: 'GET' },
            response: { response_code: { value: 201 }, response_headers_bytes: '92', response_body_bytes: '7' },
          },
        ],
      },
    });
  });

  it('carries a TCP entry in tcp_logs, its start in context.time', () => {
    const tcp = new Map([...REPORT_SETS.tcp!, ['context.time', t('2023-01-01T00:00:00Z')]]);
    const { notCarried: lost, message } = logRoundTrip([tcp]);
    expect(lost).toEqual([]);
    expect(message).toMatchObject({
      identifier: { log_name: 'tcp_envoy_accesslog' },
      tcp_logs: { log_entry: [{ connection_properties: { received_bytes: '10', sent_bytes: '20' } }] },
    });
  });

  it('puts every set of a batch in one message, in order', () => {
    const sets = [REPORT_SETS.http!, REPORT_SETS['http error']!, REPORT_SETS.http!];
    const { seen, notCarried: lost } = logRoundTrip(sets);
    expect(lost).toEqual([]);
    expect(seen.map((b) => b.get('response.code'))).toEqual([i(200), i(503), i(200)]);
  });

  it('names what an entry cannot carry as given', () => {
    const given = bag({
      ...REQUEST,
      'request.method': s('BREW'), // not a RequestMethod
      'context.proxy_error_code': s('UAEX,UF'), // the adapter joins the flags in its own order
      'response.time': t('2000-01-01T00:00:00Z'), // before request.time
      'request.total_size': i(1), // smaller than request.size
      'request.size': i(2),
      'destination.service': s('x'),
      'source.ip': ip('10.0.0.1'),
    });
    expect(logRoundTrip([given]).notCarried).toEqual([
      'context.proxy_error_code',
      'destination.service',
      'request.method',
      'request.total_size',
      'response.time',
    ]);
  });
});

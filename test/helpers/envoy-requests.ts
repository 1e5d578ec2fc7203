// Envoy requests as Envoy fills them, for the Envoy front-ends' tests (reference-client JSON form).

/** A CheckRequest as Envoy's HTTP filter fills it (contract §3.2). */
export function httpCheck(headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
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
        time: { seconds: 1_700_000_000, nanos: 5 },
        http: {
          id: '1234',
          method: 'GET',
          headers: { ':authority': 'reviews:9080', ':method': 'GET', ':path': '/reviews/1', ...headers },
          path: '/reviews/1',
          host: 'reviews:9080',
          scheme: 'http',
          protocol: 'HTTP/1.1',
        },
      },
      ...extra,
    },
  };
}

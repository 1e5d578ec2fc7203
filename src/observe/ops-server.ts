// The ops HTTP port: GET /healthz (liveness), /readyz (readiness) and, when
// metrics are on, /metrics. Probes read a boolean, so they cost the adapter
// nothing per call and work whether or not gRPC uses TLS.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsEndpoints {
  /** The gRPC health state: true while SERVING, false before start and while draining. */
  ready(): boolean;
  /** Prometheus registry; undefined = metrics off (/metrics answers 404). */
  metrics: Registry | undefined;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

function text(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

function handle(endpoints: OpsEndpoints, req: http.IncomingMessage, res: http.ServerResponse): void {
  const route = (req.url ?? '').split('?', 1)[0] ?? '';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    text(res, 405, 'only GET and HEAD here\n');
    return;
  }
  switch (route) {
    case '/healthz':
      // Alive while the event loop answers; draining is not a reason to restart.
      text(res, 200, 'ok\n');
      return;
    case '/readyz':
      // 503 while draining, so the pod leaves the endpoints before it stops accepting.
      if (endpoints.ready()) text(res, 200, 'SERVING\n');
      else text(res, 503, 'NOT_SERVING\n');
      return;
    case '/metrics': {
      const registry = endpoints.metrics;
      if (!registry) {
        text(res, 404, 'metrics are off (start with --metrics-port)\n');
        return;
      }
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => text(res, 500, `${String(err)}\n`),
      );
      return;
    }
    default:
      text(res, 404, 'GET /healthz, /readyz or /metrics\n');
  }
}

export async function serveOps(endpoints: OpsEndpoints, host: string, port: number): Promise<OpsServer> {
  const server = http.createServer((req, res) => handle(endpoints, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

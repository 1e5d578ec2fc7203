// The ops HTTP port: GET /healthz (liveness), /readyz (readiness) and, when
// metrics are on, /metrics. Probes read a boolean, so they cost the adapter
// nothing per call and work whether or not gRPC uses TLS. Every listener has
// the bounds of http-bounds.ts.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { Registry } from 'prom-client';
import {
  createBoundedServer,
  cutsLoggedTo,
  DEFAULT_HTTP_BOUNDS,
  listen,
  scrapeResponder,
  type HttpBounds,
  type HttpCutReport,
} from './http-bounds.js';
import { createRepeatLog } from './repeat-log.js';

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

type Scrape = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function handle(
  endpoints: OpsEndpoints,
  scrape: Scrape | undefined,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
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
      if (!scrape) {
        text(res, 404, 'metrics are off (start with --metrics-port)\n');
        return;
      }
      scrape(req, res);
      return;
    }
    default:
      text(res, 404, 'GET /healthz, /readyz or /metrics\n');
  }
}

export async function serveOps(
  endpoints: OpsEndpoints,
  host: string,
  port: number,
  bounds: Readonly<HttpBounds> = DEFAULT_HTTP_BOUNDS,
  onCut?: HttpCutReport,
): Promise<OpsServer> {
  const registry = endpoints.metrics;
  const scrape = registry ? scrapeResponder(registry, bounds.maxConcurrentScrapes, onCut) : undefined;
  const server = createBoundedServer((req, res) => handle(endpoints, scrape, req, res), bounds, onCut);
  await listen(server, host, port);
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

export interface Listen {
  host: string;
  port: number;
}

export interface HttpListeners {
  opsPort: number | undefined;
  metricsPort: number | undefined;
  close(): Promise<void>;
}

/**
 * The ops listener (--ops-port) and the metrics one (--metrics-port): one
 * listener when both name the same host and port, else two that serve the
 * same paths.
 */
export async function serveHttp(
  endpoints: OpsEndpoints,
  listen: { ops: Listen | undefined; metrics: Listen | undefined },
  log: Logger,
  bounds: Readonly<HttpBounds> = DEFAULT_HTTP_BOUNDS,
): Promise<HttpListeners> {
  const servers: OpsServer[] = [];
  let ops: OpsServer | undefined;
  let metrics: OpsServer | undefined;
  const notes = createRepeatLog(log);
  const onCut = (listener: 'ops' | 'metrics') => cutsLoggedTo(notes, listener);
  try {
    if (listen.ops) {
      ops = await serveOps(endpoints, listen.ops.host, listen.ops.port, bounds, onCut('ops'));
      servers.push(ops);
      log.info({ port: ops.port }, 'serving /healthz and /readyz');
    }
    if (listen.metrics) {
      const same = listen.ops?.host === listen.metrics.host && listen.ops.port === listen.metrics.port;
      metrics = same
        ? ops
        : await serveOps(endpoints, listen.metrics.host, listen.metrics.port, bounds, onCut('metrics'));
      if (!same && metrics) servers.push(metrics);
      log.info({ port: metrics?.port }, 'serving Prometheus metrics on /metrics');
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.close()));
    notes.close();
    throw err;
  }
  return {
    opsPort: ops?.port,
    metricsPort: metrics?.port,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
      notes.close();
    },
  };
}

// GET /metrics over plain HTTP on its own port: the Prometheus sink's series,
// apart from the adapter's own metrics (observe/ops-server.ts). The listener
// has the bounds of observe/http-bounds.ts; a page is rendered once per
// change of the series and shared by every scraper.
import type { AddressInfo } from 'node:net';
import {
  createBoundedServer,
  DEFAULT_HTTP_BOUNDS,
  listen,
  scrapeResponder,
  type HttpBounds,
  type HttpCutReport,
  type ScrapeSource,
} from '../../observe/http-bounds.js';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** `registry`: the series' prom-client Registry; with a `version` (SeriesRegistry's), pages are reused until it changes. */
export async function serveMetrics(
  registry: ScrapeSource,
  host: string,
  port: number,
  bounds: Readonly<HttpBounds> = DEFAULT_HTTP_BOUNDS,
  onCut?: HttpCutReport,
): Promise<MetricsServer> {
  const scrape = scrapeResponder(registry, bounds.maxConcurrentScrapes, onCut);
  const server = createBoundedServer(
    (req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      scrape(req, res);
    },
    bounds,
    onCut,
  );
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

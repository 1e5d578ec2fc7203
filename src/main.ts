// Composition root: options -> logger -> sinks -> handlers -> server, and the
// order things stop in.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { createLogger, type Logger } from './log.js';
import { bind, createAdapterServer, shutdown } from './transport/server.js';
import type { AdapterMetrics } from './observe/metrics.js';
import { NO_METRICS, type MetricEvents } from './observe/metric-events.js';
import { routeGrpcLogs } from './observe/grpc-log.js';
import { createRepeatLog } from './observe/repeat-log.js';
import { CallRecorder } from './recording/calls.js';
import { serveHttp } from './observe/ops-server.js';
import { keepRepeatedHeaders } from './security/call-auth.js';
import { HandlerTable } from './core/handler-table.js';
import { openSecurity } from './security/security.js';
import { isoClock } from './core/clock.js';
import { DecodePool } from './frontends/mixer/decode-pool.js';
import { AdapterHealth } from './transport/health.js';
import { SinkHealth } from './core/sink-health.js';
import { sinkFactories, SinkPool, type SinkFactory } from './sinks/registry.js';
import { reportClosing } from './observe/sink-lifetime.js';
import { serveMetrics, type MetricsServer } from './sinks/prometheus/series-server.js';
import { loadSinkModule } from './sinks/plugin-loader.js';
import { prometheusSinkFactory } from './sinks/prometheus/factory.js';
import { SeriesRegistry } from './sinks/prometheus/series.js';
import type { SinkSpec } from './sinks/sink.js';
import type { AdapterOptions } from './options/serve-flags.js';

// The options and their defaults come from the serve command's flag table.
export { DEFAULT_OPTIONS, type AdapterOptions } from './options/serve-flags.js';

export interface RunningAdapter {
  /** host:port actually bound, e.g. "[::]:8000" or "127.0.0.1:43121". */
  address: string;
  port: number;
  log: Logger;
  health: AdapterHealth;
  /** The Prometheus metrics, when --metrics-port asked for them. */
  metrics: AdapterMetrics | undefined;
  /** Port of the /metrics endpoint when one was asked for. */
  metricsPort: number | undefined;
  /** Port of the ops endpoint (/healthz, /readyz) when one was asked for. */
  opsPort: number | undefined;
  /** Port of the Prometheus sink's /metrics endpoint when one was asked for. */
  prometheusPort: number | undefined;
  /**
   * Health NOT_SERVING, wait the drain delay, stop accepting, let in-flight
   * calls finish (cancel after the grace), flush and close every sink.
   * Idempotent.
   */
  stop(): Promise<void>;
  /** Reopen every file sink (SIGHUP, after logrotate moved the files); logs which. */
  reopenSinks(): Promise<void>;
}

export interface AdapterIo {
  stdout: Writable;
  stderr: NodeJS.WritableStream;
  /** Sink types beyond file and stdout (tests use the memory sink). */
  extraSinks?: Record<string, SinkFactory>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts everything, or nothing: when a step fails (a port in use, a file
 * that cannot be opened), whatever had started is stopped again before the
 * error is thrown, so no half-started process (gRPC answering, never ready,
 * a port held) is left behind.
 */
export async function startAdapter(
  options: AdapterOptions,
  io: AdapterIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<RunningAdapter> {
  const undo: (() => unknown)[] = [];
  try {
    return await start(options, io, undo);
  } catch (err) {
    for (const step of undo.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    throw err;
  }
}

/** A missing or unusable data dir would start SERVING and fail every file sink's call: refuse to start instead. */
async function checkDataDir(dataDir: string): Promise<void> {
  let stats;
  try {
    stats = await stat(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`--data-dir ${dataDir}: ${code === 'ENOENT' ? 'no such folder' : (err as Error).message}`);
  }
  if (!stats.isDirectory()) throw new Error(`--data-dir ${dataDir}: not a folder`);
  try {
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch {
    throw new Error(`--data-dir ${dataDir}: not writable by this process`);
  }
}

/** startAdapter's steps; each thing started pushes how to stop it onto `undo`. */
async function start(options: AdapterOptions, io: AdapterIo, undo: (() => unknown)[]): Promise<RunningAdapter> {
  await checkDataDir(options.dataDir);
  const log = createLogger(options.logLevel, io.stderr);
  routeGrpcLogs(log);
  // Lines that can come once per call: failures, refusals, denies.
  const notes = createRepeatLog(log);
  undo.push(() => notes.close());
  // prom-client is loaded only when its endpoint is asked for. The sources
  // are read at scrape time, after the pool and table exist.
  const prometheus =
    options.metricsPort === undefined
      ? undefined
      : new (await import('./observe/metrics.js')).AdapterMetrics({
          sinkBuffers: async () =>
            (await sinks.openSinks()).map(({ spec, sink }) => ({ spec, bytes: sink.bufferedBytes })),
          handlerCacheSize: () => handlers.size,
        });
  const metrics: MetricEvents = prometheus ?? NO_METRICS;
  // First, so a bad certificate or token file stops the start before anything opens.
  const security = openSecurity(
    options.security,
    log,
    (outcome) => metrics.tlsReloaded(outcome),
    (method, peer, rejection) => {
      const code = status[rejection.code];
      metrics.callRefused(method, code);
      notes.note('warn', `call refused: ${rejection.details}`, { method, peer, code: rejection.code });
    },
  );
  undo.push(() => security.close());
  await security.verified;
  const plugins: Record<string, SinkFactory> = {};
  for (const option of options.sinkModules) {
    plugins[option.name] = (await loadSinkModule(option, options.sinkWriteTimeoutMs)).factory;
  }
  const series = options.prometheusPort === undefined ? undefined : new SeriesRegistry();
  const builtIns: Record<string, SinkFactory> = { ...sinkFactories };
  if (series) {
    builtIns.prometheus = prometheusSinkFactory(series, options.prometheusMaxSeries, (reason, fields) =>
      notes.note('warn', `prometheus sink did not apply an instance: ${reason} (${String(fields.metric)})`, fields),
    );
  }
  const sinks = new SinkPool(
    {
      stdout: io.stdout,
      buffer: { maxBytes: options.sinkBufferBytes, maxWaitMs: options.sinkWaitMs },
      file: {
        fsync: options.fsync,
        fsyncIntervalMs: options.fsyncIntervalMs,
        rotateBytes: options.rotateBytes,
        rotateKeep: options.rotateKeep,
      },
      events: (spec) => metrics.sinkEvents(spec),
      log,
    },
    reportClosing({ ...builtIns, ...plugins, ...io.extraSinks }, (spec) => metrics.sinkClosed(spec)),
    (err) => log.error({ err }, 'closing or reopening a sink failed'),
  );
  const handlers = new HandlerTable(
    sinks,
    { defaultFormat: options.format, baseDir: options.dataDir, maxEntries: options.handlerCacheSize },
    {
      created: (h) => {
        metrics.handlerCreated(h.id, h.sinkSpec);
        log.info({ handler: h.id, config: h.config.view, sink: h.sinkSpec }, 'new handler configuration');
      },
      evicted: (h) => {
        metrics.handlerEvicted(h.id);
        log.info({ handler: h.id }, 'handler configuration evicted from the cache');
      },
      refused: () => metrics.paramsDecodeError(),
      sinkOpenFailed: (h) => metrics.sinkOpenFailed(h.sinkSpec),
    },
  );
  // Each plug-in opens once now, as a handler with `sink: NAME` and no format
  // would, so a factory that throws stops the start; the pool keeps it open.
  const pluginSpecs: SinkSpec[] = Object.keys(plugins).map((type) => ({ type, path: '', format: options.format }));
  undo.push(() => sinks.closeAll());
  for (const spec of pluginSpecs) await sinks.acquire(spec);
  const health = new AdapterHealth();
  const sinkHealth = new SinkHealth(health, options.strictDecisionRecords);
  undo.push(() => sinkHealth.close());
  const decodePool =
    options.decodeWorkers > 0 ? new DecodePool(options.decodeWorkers, log, options.maxDecodeBytes) : undefined;
  undo.push(() => decodePool?.close());
  const recorder = options.record ? await CallRecorder.open(options.record) : undefined;
  undo.push(() => recorder?.close()); // nothing was recorded; do not leave the file open
  const server = createAdapterServer(
    {
      handlers,
      log,
      notes,
      metrics,
      receivedAt: isoClock(),
      decodePool,
      maxDecodeBytes: options.maxDecodeBytes,
      sinkCalls: {
        writeTimeoutMs: options.sinkWriteTimeoutMs,
        strictDecisionRecords: options.strictDecisionRecords,
        health: sinkHealth,
      },
    },
    {
      maxReceiveMessageBytes: options.maxMessageBytes,
      maxConnectionAgeMs: options.maxConnectionAgeMs,
      streams: options.streams,
      // The repeat log: an attack cuts thousands of streams.
      onCut: (event) => notes.note('warn', `connection or stream cut by a bound: ${event}`, { bound: event }),
    },
    health,
    { recorder, interceptors: security.interceptors },
  );
  undo.push(() => server.forceShutdown());
  const port = await bind(server, options.host, options.port, security.credentials);
  if (options.security.tokenFile !== undefined) keepRepeatedHeaders(server, [options.security.tokenHeader]);
  const address = options.host.includes(':') ? `[${options.host}]:${port}` : `${options.host}:${port}`;
  const http = await serveHttp(
    { ready: () => health.isServing(), metrics: prometheus?.registry },
    {
      ops: options.opsPort === undefined ? undefined : { host: options.opsHost ?? options.host, port: options.opsPort },
      metrics:
        prometheus && options.metricsPort !== undefined
          ? { host: options.metricsHost ?? options.host, port: options.metricsPort }
          : undefined,
    },
    log,
  );
  undo.push(() => http.close());
  let seriesServer: MetricsServer | undefined;
  if (series && options.prometheusPort !== undefined) {
    seriesServer = await serveMetrics(series.registry, options.prometheusHost ?? options.host, options.prometheusPort);
    undo.push(() => seriesServer?.close());
    log.info({ port: seriesServer.port }, 'serving the prometheus sink series on /metrics');
  }
  health.serving(true);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      health.serving(false);
      if (options.drainDelayMs > 0) {
        log.info({ drainDelayMs: options.drainDelayMs }, 'health is NOT_SERVING; draining');
        await sleep(options.drainDelayMs);
      }
      const forced = await shutdown(server, options.shutdownGraceMs);
      if (forced) log.warn({ graceMs: options.shutdownGraceMs }, 'in-flight calls cancelled after the grace period');
      security.close();
      await decodePool?.close();
      handlers.clear();
      await sinks.closeAll();
      series?.close();
      sinkHealth.close();
      await recorder?.close();
      // Last: /readyz keeps answering 503 until the process is done.
      await seriesServer?.close();
      await http.close();
      notes.close();
    })());
  const reopenSinks = async (): Promise<void> => {
    const reopened = await sinks.reopenAll();
    log.info({ sinks: reopened.map(({ type, path }) => (path === '' ? type : `${type}:${path}`)) }, 'sinks reopened');
  };
  return {
    address,
    port,
    log,
    health,
    metrics: prometheus,
    metricsPort: http.metricsPort,
    opsPort: http.opsPort,
    prometheusPort: seriesServer?.port,
    stop,
    reopenSinks,
  };
}

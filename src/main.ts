// Composition root: the adapter's start-up steps, in the order they start
// (options -> logger -> checks -> listeners -> sinks -> handlers -> server);
// shutdown runs the same list in reverse (lifecycle/lifecycle.ts).
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { createLogger, type Logger } from './log.js';
import { bind, createAdapterServer, shutdown } from './transport/server.js';
import { mixerServices } from './frontends/mixer/services.js';
import type { AdapterMetrics } from './observe/metrics.js';
import { NO_METRICS, type MetricEvents } from './observe/metric-events.js';
import { routeGrpcLogs } from './observe/grpc-log.js';
import { createRepeatLog, DEFAULT_REPEAT_INTERVAL_MS, type RepeatLog } from './observe/repeat-log.js';
import { CallRecorder } from './recording/calls.js';
import { serveHttp } from './observe/ops-server.js';
import { keepRepeatedHeaders } from './security/call-auth.js';
import { HandlerTable } from './core/handler-table.js';
import { openSecurity, type Security } from './security/security.js';
import { isoClock } from './core/clock.js';
import { DecodePool } from './frontends/mixer/decode-pool.js';
import { AdapterHealth } from './transport/health.js';
import { KeySets } from './security/key-sets.js';
import { KeySetHealth } from './core/key-set-health.js';
import { ALS_HEALTH, EXT_AUTHZ_HEALTH } from './wire/envoy.js';
import type { CoreContext } from './core/context.js';
import type { FrontEndService } from './transport/server.js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { SinkCalls } from './core/sink-call.js';
import { SinkHealth } from './core/sink-health.js';
import { sinkFactories, SinkPool, type SinkFactory } from './sinks/registry.js';
import { SharedBytes } from './sinks/batching-writer.js';
import { reportClosing } from './observe/sink-lifetime.js';
import { serveMetrics } from './sinks/prometheus/series-server.js';
import { cutsLoggedTo } from './observe/http-bounds.js';
import { loadSinkModule } from './sinks/plugin-loader.js';
import { prometheusSinkFactory } from './sinks/prometheus/factory.js';
import { SeriesRegistry } from './sinks/prometheus/series.js';
import type { SinkSpec } from './sinks/sink.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import { fileError, flagFileError, hostPort, listenError, StartError } from './lifecycle/start-error.js';
import type { AdapterOptions } from './options/serve-flags.js';
import { MiB } from './options/memory-budget.js';

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

const DATA_DIR_FIX = 'create it or point --data-dir at an existing writable folder';
/** 'sinks reopened' lines per repeat interval before a SIGHUP storm is summed (logrotate rotates far less often). */
const REOPEN_LINES = 5;

/** A missing or unusable data dir would start SERVING and fail every file sink's call: refuse to start instead. */
async function checkDataDir(dataDir: string): Promise<void> {
  let stats;
  try {
    stats = await stat(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : (err as Error).message;
    throw new StartError(`--data-dir ${dataDir}: ${why}`, DATA_DIR_FIX, { cause: err });
  }
  if (!stats.isDirectory()) throw new StartError(`--data-dir ${dataDir}: not a folder`, DATA_DIR_FIX);
  try {
    await access(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StartError(`--data-dir ${dataDir}: not writable by this process`, DATA_DIR_FIX, { cause: err });
  }
}

/**
 * Starts everything, or nothing: the steps below are ONE ordered list
 * (lifecycle.ts). A step that fails (a port in use, a file that cannot be
 * opened) stops the steps before it, newest first, before the error is
 * thrown, so no half-started process (gRPC answering, never ready, a port
 * held) is left behind; stop() stops every step, newest first. So the order
 * here is also the reverse of the shutdown order: serving ends first, then
 * the gRPC server drains, ..., and the ops listener (/readyz answering 503)
 * and the repeat log go last.
 */
export async function startAdapter(
  options: AdapterOptions,
  io: AdapterIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<RunningAdapter> {
  const log = createLogger(options.logLevel, io.stderr);
  routeGrpcLogs(log);
  const life = new Lifecycle(log);
  await life.step('data dir', () => checkDataDir(options.dataDir));
  // Lines that can come once per call: failures, refusals, denies.
  const notes = await life.step(
    'repeat log',
    () => createRepeatLog(log),
    (n) => n.close(),
  );
  // The /metrics sources are read at scrape time; the listener opens before
  // the sink pool and the handler table exist, so they are looked up then.
  const scraped: { sinks?: SinkPool; handlers?: HandlerTable } = {};
  // prom-client is loaded only when its endpoint is asked for.
  const prometheus =
    options.metricsPort === undefined
      ? undefined
      : new (await import('./observe/metrics.js')).AdapterMetrics({
          sinkBuffers: async () =>
            ((await scraped.sinks?.openSinks()) ?? []).map(({ spec, sink }) => ({ spec, bytes: sink.bufferedBytes })),
          handlerCacheSize: () => scraped.handlers?.size ?? 0,
        });
  const metrics: MetricEvents = prometheus ?? NO_METRICS;
  // First of the checks, so a bad certificate or token file stops the start before anything listens.
  const security = await life.step(
    'security',
    () => openVerifiedSecurity(options, log, metrics, notes),
    (s) => s.close(),
  );
  const envoyOn = options.operatorConfig.length > 0;
  const health = new AdapterHealth(envoyOn ? [EXT_AUTHZ_HEALTH, ALS_HEALTH] : []);
  // Early, so they stop late: /healthz and /readyz (503) answer until the process is done.
  const http = await life.step(
    'ops and metrics listeners',
    () => serveHttpListeners(options, health, prometheus, log),
    (h) => h.close(),
  );
  const series = await life.step(
    'prometheus sink series',
    () => servePrometheusSeries(options, log, notes),
    async (s) => {
      s?.registry.close();
      await s?.server.close();
    },
  );
  const sinkHealth = await life.step(
    'sink health',
    () => new SinkHealth(health, options.strictDecisionRecords),
    (h) => h.close(),
  );
  const sinks = await life.step(
    'sinks',
    () => openSinks(options, io, log, notes, metrics, series?.registry),
    (pool) => pool.closeAll(),
  );
  scraped.sinks = sinks;
  const handlers = await life.step(
    'handler table',
    () =>
      new HandlerTable(
        sinks,
        {
          defaultFormat: options.format,
          baseDir: options.dataDir,
          maxEntries: options.handlerCacheSize,
          maxBytes: options.handlerCacheBytes,
          maxParamsBytes: options.maxParamsBytes,
        },
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
      ),
    (table) => table.clear(),
  );
  scraped.handlers = handlers;
  const decodePool = await life.step(
    'decode workers',
    () => (options.decodeWorkers > 0 ? new DecodePool(options.decodeWorkers, log, options.maxDecodeBytes) : undefined),
    (pool) => pool?.close(),
  );
  const recorder = await life.step(
    'call recorder',
    async () => {
      if (options.record === undefined) return undefined;
      let recorder: CallRecorder;
      try {
        recorder = await CallRecorder.open(options.record, options.recordSecrets ? 'keep' : 'mask');
      } catch (err) {
        throw flagFileError('--record', options.record, err, 'point --record at a file in a writable folder');
      }
      if (options.recordSecrets) {
        log.warn(
          { record: options.record },
          '--record-secrets: the recording keeps auth_key values, tokens and credential headers in the clear; treat the file as a secret and delete it when done',
        );
      }
      return recorder;
    },
    (r) => r?.close(),
  );
  const keySetHealth: KeySetHealth = new KeySetHealth(health, (): KeySets | undefined => keySets);
  const keySets: KeySets | undefined = await life.step(
    'key sets',
    () => (options.keysDir === undefined ? undefined : openKeySets(options, log, keySetHealth)),
    (k) => k?.close(),
  );
  const core: CoreContext = {
    keySets,
    keySetMissing: (name) => {
      keySetHealth.report(name);
      notes.note('warn', `key set ${name} is missing or empty under --keys-dir: its handlers deny`, { keySet: name });
    },
    handlers,
    log,
    notes,
    metrics,
    receivedAt: isoClock(),
    maxDecodeBytes: options.maxDecodeBytes,
    sinkCalls: new SinkCalls({
      writeTimeoutMs: options.sinkWriteTimeoutMs,
      strictDecisionRecords: options.strictDecisionRecords,
      health: sinkHealth,
    }),
  };
  // The Envoy front-ends, with the operator config that drives them; loaded
  // only when asked for, so a Mixer-only adapter carries none of it.
  const envoy = await life.step(
    'operator config',
    () =>
      envoyOn
        ? openEnvoyFrontEnd(options, core, sinks.types, log, metrics, Object.keys(io.extraSinks ?? {}))
        : undefined,
    (e) => e?.close(),
  );
  const server = await life.step(
    'gRPC server',
    async () => {
      const server = createAdapterServer(
        [...mixerServices({ ...core, decodePool }), ...(envoy?.services ?? [])],
        {
          maxReceiveMessageBytes: options.maxMessageBytes,
          maxConnectionAgeMs: options.maxConnectionAgeMs,
          streams: { maxPendingRequestBytes: options.maxPendingRequestBytes, ...options.streams },
          // The repeat log: an attack cuts thousands of streams.
          onCut: (event) => notes.note('warn', `connection or stream cut by a bound: ${event}`, { bound: event }),
        },
        health,
        { recorder, interceptors: security.interceptors, reflection: envoy?.reflection },
      );
      const port = await bindQuietly(server, options, security.credentials, log);
      if (options.security.tokenFile !== undefined) keepRepeatedHeaders(server, [options.security.tokenHeader]);
      return { server, port };
    },
    async ({ server }) => {
      // Open access-log streams never end on their own: answered first, once what they sent is written.
      await envoy?.drain(options.shutdownGraceMs);
      const forced = await shutdown(server, options.shutdownGraceMs);
      if (forced) log.warn({ graceMs: options.shutdownGraceMs }, 'in-flight calls cancelled after the grace period');
    },
  );
  // Last to start, first to stop: health NOT_SERVING, then the drain delay
  // while calls are still answered, before the server stops accepting.
  await life.step(
    'serving',
    () => health.serving(true),
    async () => {
      health.serving(false);
      if (options.drainDelayMs > 0) {
        log.info({ drainDelayMs: options.drainDelayMs }, 'health is NOT_SERVING; draining');
        await sleep(options.drainDelayMs);
      }
    },
  );

  // Each reopen is logged (logrotate's postrotate is checked by that line), up
  // to REOPEN_LINES per repeat interval; a SIGHUP storm's further reopens go
  // through the repeat log, one line and then a count.
  let reopenWindow = Number.NEGATIVE_INFINITY;
  let reopenLines = 0;
  const reopenSinks = async (): Promise<void> => {
    const reopened = await sinks.reopenAll();
    const fields = { sinks: reopened.map(({ type, path }) => (path === '' ? type : `${type}:${path}`)) };
    const at = performance.now();
    if (at - reopenWindow > DEFAULT_REPEAT_INTERVAL_MS) {
      reopenWindow = at;
      reopenLines = 0;
    }
    if (reopenLines++ < REOPEN_LINES) log.info(fields, 'sinks reopened');
    else notes.note('info', 'sinks reopened, more in this interval', fields);
  };
  return {
    address: hostPort(options.host, server.port),
    port: server.port,
    log,
    health,
    metrics: prometheus,
    metricsPort: http.metricsPort,
    opsPort: http.opsPort,
    prometheusPort: series?.server.port,
    stop: () => life.stop(),
    reopenSinks,
  };
}

/** --keys-dir read now (a folder that cannot be read stops the start) and re-read every --reload-interval. */
async function openKeySets(options: AdapterOptions, log: Logger, health: KeySetHealth): Promise<KeySets> {
  const dir = options.keysDir!;
  try {
    return await KeySets.open(dir, options.security.reloadIntervalMs, {
      // The file's name, never its content.
      refused: (file, why) => log.error({ file }, `key file refused: ${why}`),
      loaded: (sets) => {
        log.info({ keysDir: dir, sets }, 'key sets loaded');
        health.recheck();
      },
    });
  } catch (err) {
    throw flagFileError('--keys-dir', dir, err, 'point --keys-dir at a folder of key-set folders');
  }
}

interface EnvoyFrontEnd {
  services: FrontEndService[];
  reflection: PackageDefinition;
  drain(graceMs: number): Promise<void>;
  close(): void;
}

/** --operator-config loaded and linted (refusing the start on errors, with file and line), watched, and the Envoy services on it. */
async function openEnvoyFrontEnd(
  options: AdapterOptions,
  core: CoreContext,
  sinkTypes: readonly string[],
  log: Logger,
  metrics: MetricEvents,
  /** Sink types given by the embedder (tests' memory sinks): handlers may name them too. */
  extraSinks: readonly string[],
): Promise<EnvoyFrontEnd> {
  const [{ LiveOperatorConfig, OperatorConfigError }, { envoyServices }, { envoyProtos }, { dedupCounters }] =
    await Promise.all([
      import('./opconfig/live.js'),
      import('./frontends/envoy/services.js'),
      import('./wire/envoy.js'),
      import('./opconfig/rules.js'),
    ]);
  let live: Awaited<ReturnType<typeof LiveOperatorConfig.load>>;
  let started = false;
  try {
    live = await LiveOperatorConfig.load({
      paths: options.operatorConfig,
      pluginSinks: [...options.sinkModules.map((m) => m.name), ...extraSinks],
      dataDir: options.dataDir,
      sinkTypes,
      intervalMs: options.security.reloadIntervalMs,
      events: {
        loaded: (summary) => {
          if (started) metrics.operatorConfigReloaded('ok');
          log.info(
            { operatorConfig: options.operatorConfig, ...summary },
            started ? 'operator config reloaded' : 'operator config loaded',
          );
        },
        refused: (problems) => {
          metrics.operatorConfigReloaded('error');
          log.error(
            { operatorConfig: options.operatorConfig, problems },
            'operator config change refused; the last good config stays in use',
          );
        },
        warned: (findings) => log.warn({ findings }, 'operator config warnings'),
      },
    });
  } catch (err) {
    const paths = options.operatorConfig.join(' ');
    if (err instanceof OperatorConfigError) {
      throw new StartError(
        `--operator-config ${paths}: ${err.problems.length} problem(s): ${err.problems.join('; ')}`,
        `fix them; \`mygrpcadapter lint ${paths}\` lists them too`,
        { cause: err },
      );
    }
    throw flagFileError('--operator-config', paths, err, 'point --operator-config at operator config files or folders');
  }
  started = true;
  live.watch();
  const ctx = { ...core, operatorConfig: () => live.current, nextDedupId: dedupCounters() };
  const { services, drain } = envoyServices(ctx);
  return { services, reflection: envoyProtos().pkg, drain, close: () => live.stop() };
}

/** TLS credentials (checked by a loopback handshake) and the per-call checks; closes them again if the check fails. */
async function openVerifiedSecurity(
  options: AdapterOptions,
  log: Logger,
  metrics: MetricEvents,
  notes: RepeatLog,
): Promise<Security> {
  try {
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
    await security.verified.catch((err: unknown) => {
      security.close();
      throw err;
    });
    return security;
  } catch (err) {
    throw fileError(err, (flag) => `fix it or point ${flag} at another file`);
  }
}

/** The ops listener (--ops-port) and the adapter's own /metrics (--metrics-port), either or both. */
async function serveHttpListeners(
  options: AdapterOptions,
  health: AdapterHealth,
  prometheus: AdapterMetrics | undefined,
  log: Logger,
): ReturnType<typeof serveHttp> {
  const ops =
    options.opsPort === undefined ? undefined : { host: options.opsHost ?? options.host, port: options.opsPort };
  const metrics =
    prometheus && options.metricsPort !== undefined
      ? { host: options.metricsHost ?? options.host, port: options.metricsPort }
      : undefined;
  try {
    return await serveHttp({ ready: () => health.isServing(), metrics: prometheus?.registry }, { ops, metrics }, log);
  } catch (err) {
    // serveHttp opens ops first; the error's port says which one failed.
    const failed = (err as { port?: unknown }).port;
    const which = ops && (failed === ops.port || !metrics) ? { ...ops, flag: 'ops' } : { ...metrics!, flag: 'metrics' };
    throw listenError(
      err,
      hostPort(which.host, which.port),
      `choose another --${which.flag}-port or --${which.flag}-host`,
    );
  }
}

/** The Prometheus sink's registry and its own /metrics listener, when --prometheus-port asks for them. */
async function servePrometheusSeries(options: AdapterOptions, log: Logger, notes: RepeatLog) {
  if (options.prometheusPort === undefined) return undefined;
  const registry = new SeriesRegistry({
    maxBytes: options.prometheusMaxBytes,
    maxLabelValueBytes: options.prometheusMaxLabelBytes,
  });
  const host = options.prometheusHost ?? options.host;
  try {
    const server = await serveMetrics(
      registry.registry,
      host,
      options.prometheusPort,
      undefined,
      cutsLoggedTo(notes, 'prometheus'),
    );
    log.info({ port: server.port }, 'serving the prometheus sink series on /metrics');
    return { registry, server };
  } catch (err) {
    registry.close();
    throw listenError(
      err,
      hostPort(host, options.prometheusPort),
      'choose another --prometheus-port or --prometheus-host',
    );
  }
}

/** The sink pool with the built-in types and the --sink-module plug-ins, each plug-in opened once. */
async function openSinks(
  options: AdapterOptions,
  io: AdapterIo,
  log: Logger,
  notes: RepeatLog,
  metrics: MetricEvents,
  series: SeriesRegistry | undefined,
): Promise<SinkPool> {
  const plugins: Record<string, SinkFactory> = {};
  for (const option of options.sinkModules) {
    const loaded = await loadSinkModule(option, options.sinkWriteTimeoutMs, {
      maxHeapMb: Math.max(1, Math.floor(options.sinkModuleHeapBytes / MiB)),
    });
    loaded.onFault((fault) => metrics.pluginFault(fault.plugin, fault.kind));
    plugins[option.name] = loaded.factory;
  }
  const builtIns: Record<string, SinkFactory> = { ...sinkFactories };
  if (series) {
    builtIns.prometheus = prometheusSinkFactory(series, options.prometheusMaxSeries, (reason, fields) =>
      notes.note('warn', `prometheus sink did not apply an instance: ${reason} (${String(fields.metric)})`, fields),
    );
  }
  const sinks = new SinkPool(
    {
      stdout: io.stdout,
      // All sinks together hold at most --sink-buffer-bytes, one sink at most
      // half of it: a stalled sink leaves room for the others.
      buffer: {
        maxBytes: Math.max(1, Math.floor(options.sinkBufferBytes / 2)),
        maxWaitMs: options.sinkWaitMs,
        shared: new SharedBytes(options.sinkBufferBytes),
      },
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
  // Each plug-in opens once now, as a handler with `sink: NAME` and no format
  // would, so a factory that throws stops the start; the pool keeps it open.
  const pluginSpecs: SinkSpec[] = Object.keys(plugins).map((type) => ({ type, path: '', format: options.format }));
  try {
    for (const spec of pluginSpecs) await sinks.acquire(spec);
  } catch (err) {
    await sinks.closeAll().catch(() => undefined);
    throw err;
  }
  return sinks;
}

/**
 * Binds the gRPC server; on failure, stops it and throws one line naming the
 * address and the flags to change. grpc-js logs a failed bind itself, at
 * error level ("No address added out of total 1 resolved"); below debug
 * that line is held back, since the thrown error says it better.
 */
async function bindQuietly(
  server: ReturnType<typeof createAdapterServer>,
  options: AdapterOptions,
  credentials: Parameters<typeof bind>[3],
  log: Logger,
): Promise<number> {
  const quiet = !log.isLevelEnabled('debug');
  if (quiet) routeGrpcLogs(log.child({}, { level: 'silent' }));
  try {
    return await bind(server, options.host, options.port, credentials);
  } catch (err) {
    server.forceShutdown();
    throw listenError(err, hostPort(options.host, options.port), 'choose another port or --host');
  } finally {
    if (quiet) routeGrpcLogs(log);
  }
}

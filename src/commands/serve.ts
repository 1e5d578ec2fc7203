// `mygrpcadapter [port]`: run the adapter until SIGINT/SIGTERM.
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { FORMATS, type FormatName } from '../core/params/params.js';
import { createLogger } from '../log.js';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions, type RunningAdapter } from '../main.js';
import { adapterVersion } from '../observe/version.js';
import type { TlsOptions } from '../security/tls.js';
import type { FsyncPolicy } from '../sinks/file.js';
import { parseSinkModule } from '../sinks/plugin-loader.js';
import { sinkFactories } from '../sinks/registry.js';
import { parseCount, parseMs, parseSize } from './flag-values.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const FSYNC: readonly FsyncPolicy[] = ['never', 'batch', 'interval'];
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
// One worker beside the main thread: the second core of a small node does the
// decoding while the first keeps up with HTTP/2.
const DEFAULT_DECODE_WORKERS = Math.min(2, Math.max(0, os.availableParallelism() - 1));

interface ServeArgs {
  port: string | number;
  host: string;
  'log-level': (typeof LEVELS)[number];
  format: FormatName;
  'data-dir': string;
  'max-message-bytes': string | number;
  'max-decode-bytes': string | number;
  'max-connection-age': string | number;
  'handler-cache-size': string | number;
  'decode-workers': string | number;
  'drain-delay': string | number;
  'shutdown-grace': string | number;
  'shutdown-timeout': string | number;
  'sink-buffer-bytes': string | number;
  'sink-wait': string | number;
  'sink-write-timeout': string | number;
  'strict-decision-records': boolean;
  fsync: FsyncPolicy;
  'fsync-interval': string | number;
  'rotate-bytes': string | number;
  'rotate-keep': string | number;
  'metrics-port': string | undefined;
  'metrics-host': string | undefined;
  'ops-port': string | undefined;
  'ops-host': string | undefined;
  record: string | undefined;
  'tls-cert': string | undefined;
  'tls-key': string | undefined;
  'tls-client-ca': string | undefined;
  'require-client-cert': boolean;
  'allowed-client-san': string[];
  'token-file': string | undefined;
  'token-header': string;
  'reload-interval': string | number;
  'sink-module': string[];
  'prometheus-port': string | undefined;
  'prometheus-host': string | undefined;
  'prometheus-max-series': string | number;
  'pid-file': string | undefined;
}

// Values are strings so that units (10Mi, 5s) get through yargs and a refusal
// can echo exactly what was typed; flag-values.ts turns them into numbers.
// requiresArg: a flag given without its value is refused, not read as "".
const size = (describe: string, value: number) =>
  ({ type: 'string', default: value, requiresArg: true, describe: `${describe} (bytes; 10M, 16Mi)` }) as const;
const duration = (describe: string, value: number) =>
  ({ type: 'string', default: value, requiresArg: true, describe: `${describe} (ms; 5s, 2m)` }) as const;
const count = (describe: string, value: number) =>
  ({ type: 'string', default: value, requiresArg: true, describe }) as const;
const text = (describe: string) => ({ type: 'string', requiresArg: true, describe }) as const;

export function serveOptions<T>(y: Argv<T>) {
  return y
    .positional('port', { type: 'string', default: DEFAULT_OPTIONS.port, describe: 'TCP port; 0 picks a free one' })
    .option('host', {
      type: 'string',
      default: DEFAULT_OPTIONS.host,
      requiresArg: true,
      describe: 'address to bind ("::" = all)',
    })
    .option('log-level', { choices: LEVELS, default: DEFAULT_OPTIONS.logLevel, requiresArg: true })
    .option('format', {
      choices: FORMATS,
      default: DEFAULT_OPTIONS.format,
      requiresArg: true,
      describe: 'record format for handlers whose Params leave `format` empty',
    })
    .option('data-dir', {
      type: 'string',
      default: '.',
      requiresArg: true,
      describe: 'existing, writable folder that relative file_path values resolve against (checked at start)',
    })
    .option('max-message-bytes', size('largest request accepted', DEFAULT_OPTIONS.maxMessageBytes))
    .option(
      'max-decode-bytes',
      size(
        'most memory one call may take to decode and format (estimated before decoding), else RESOURCE_EXHAUSTED',
        DEFAULT_OPTIONS.maxDecodeBytes,
      ),
    )
    .option(
      'max-connection-age',
      duration(
        'age after which a client connection is asked to reconnect, spreading Mixer over replicas (0 = never)',
        0,
      ),
    )
    .option(
      'handler-cache-size',
      count('distinct handler configurations kept decoded', DEFAULT_OPTIONS.handlerCacheSize),
    )
    .option(
      'decode-workers',
      count(
        'worker threads that decode and format large metric batches (0 = main thread only)',
        DEFAULT_DECODE_WORKERS,
      ),
    )
    .option(
      'drain-delay',
      duration('how long health reports NOT_SERVING before the server stops accepting', DEFAULT_OPTIONS.drainDelayMs),
    )
    .option(
      'shutdown-grace',
      duration('how long in-flight calls get to finish on shutdown', DEFAULT_OPTIONS.shutdownGraceMs),
    )
    .option(
      'shutdown-timeout',
      duration(
        'time after a signal when the process logs an error and kills itself (exit status 137), whatever it is doing',
        DEFAULT_SHUTDOWN_TIMEOUT_MS,
      ),
    )
    .option('sink-buffer-bytes', size('most bytes a sink holds queued or in flight', DEFAULT_OPTIONS.sinkBufferBytes))
    .option(
      'sink-wait',
      duration(
        'how long a call waits for room in a full sink buffer, then RESOURCE_EXHAUSTED',
        DEFAULT_OPTIONS.sinkWaitMs,
      ),
    )
    .option(
      'sink-write-timeout',
      duration(
        'how long a call waits for its sink to take its records (open, room, write), then DEADLINE_EXCEEDED',
        DEFAULT_OPTIONS.sinkWriteTimeoutMs,
      ),
    )
    .option('strict-decision-records', {
      type: 'boolean',
      default: DEFAULT_OPTIONS.strictDecisionRecords,
      describe: 'fail a check whose decision record cannot be written (default: answer it, count and log the loss)',
    })
    .option('fsync', {
      choices: FSYNC,
      default: DEFAULT_OPTIONS.fsync,
      requiresArg: true,
      describe: 'when file sinks flush to disk',
    })
    .option('fsync-interval', duration('time between flushes with --fsync interval', DEFAULT_OPTIONS.fsyncIntervalMs))
    .option(
      'rotate-bytes',
      size('rotate a file sink before it grows past this size; 0 = never', DEFAULT_OPTIONS.rotateBytes),
    )
    .option('rotate-keep', count('rotated files kept, at least 1', DEFAULT_OPTIONS.rotateKeep))
    .option('metrics-port', text('serve Prometheus metrics on this port at /metrics (off when absent)'))
    .option('metrics-host', text('address for the metrics port (default: --host)'))
    .option(
      'ops-port',
      text('serve GET /healthz and /readyz (503 while draining) over HTTP on this port, and /metrics when on'),
    )
    .option('ops-host', text('address for the ops port (default: --host)'))
    .option('record', text('append every received call (raw request, decoded view, answer) to this JSON-lines file'))
    .option('tls-cert', text('serve TLS with this PEM certificate chain (leaf first)'))
    .option('tls-key', text('PEM private key of --tls-cert'))
    .option('tls-client-ca', text('PEM CA bundle client certificates are verified against (mutual TLS)'))
    .option('require-client-cert', {
      type: 'boolean',
      default: false,
      describe: 'refuse clients without a certificate from --tls-client-ca',
    })
    .option('allowed-client-san', {
      type: 'string',
      array: true,
      // One value per flag, so `--allowed-client-san X 8000` leaves the port alone.
      nargs: 1,
      requiresArg: true,
      default: [] as string[],
      describe: 'URI SAN (SPIFFE ID) a client certificate must carry; repeatable, any one suffices',
    })
    .option('token-file', text('every call must present the token in this file'))
    .option('token-header', {
      type: 'string',
      default: DEFAULT_OPTIONS.security.tokenHeader,
      requiresArg: true,
      describe: 'header carrying the token (authorization: "Bearer <token>" or "<token>")',
    })
    .option(
      'pid-file',
      text("write the adapter's own process id here once it listens (for logrotate's postrotate kill -HUP)"),
    )
    .option(
      'reload-interval',
      duration('time between re-reads of certificate and token files', DEFAULT_OPTIONS.security.reloadIntervalMs),
    )
    .option('sink-module', {
      type: 'string',
      array: true,
      nargs: 1,
      default: [] as string[],
      describe:
        'NAME=MODULE: a sink plug-in (package name or file path) that handlers select with `sink: NAME`; repeatable',
    })
    .option(
      'prometheus-port',
      text('enable sink "prometheus" and serve its series on this port at /metrics (off when absent)'),
    )
    .option('prometheus-host', text('address for --prometheus-port (default: --host)'))
    .option(
      'prometheus-max-series',
      count(
        'series per metric of sink "prometheus" when Params leave max_series_per_metric 0',
        DEFAULT_OPTIONS.prometheusMaxSeries,
      ),
    );
}

function tlsOptions(args: ServeArgs): TlsOptions | undefined {
  const cert = args['tls-cert'];
  const key = args['tls-key'];
  if (cert === undefined && key === undefined) {
    for (const flag of ['tls-client-ca', 'require-client-cert'] as const) {
      if (args[flag]) throw new Error(`--${flag} needs --tls-cert and --tls-key`);
    }
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new Error('--tls-cert and --tls-key go together');
  const ca = args['tls-client-ca'];
  return {
    certFile: path.resolve(cert),
    keyFile: path.resolve(key),
    clientCaFile: ca === undefined ? undefined : path.resolve(ca),
    requireClientCert: args['require-client-cert'],
  };
}

export function toAdapterOptions(args: ServeArgs): AdapterOptions {
  return {
    host: args.host,
    port: parseCount('port', args.port, 0, 65535),
    logLevel: args['log-level'],
    format: args.format,
    dataDir: path.resolve(args['data-dir']),
    maxMessageBytes: parseSize('--max-message-bytes', args['max-message-bytes'], 1),
    maxDecodeBytes: parseSize('--max-decode-bytes', args['max-decode-bytes'], 1),
    maxConnectionAgeMs: parseMs('--max-connection-age', args['max-connection-age']),
    handlerCacheSize: parseCount('--handler-cache-size', args['handler-cache-size'], 1),
    decodeWorkers: parseCount('--decode-workers', args['decode-workers'], 0, 64),
    drainDelayMs: parseMs('--drain-delay', args['drain-delay']),
    shutdownGraceMs: parseMs('--shutdown-grace', args['shutdown-grace']),
    sinkBufferBytes: parseSize('--sink-buffer-bytes', args['sink-buffer-bytes'], 1),
    sinkWaitMs: parseMs('--sink-wait', args['sink-wait']),
    sinkWriteTimeoutMs: parseMs('--sink-write-timeout', args['sink-write-timeout'], 1),
    strictDecisionRecords: args['strict-decision-records'],
    fsync: args.fsync,
    fsyncIntervalMs: parseMs('--fsync-interval', args['fsync-interval'], 1),
    rotateBytes: parseSize('--rotate-bytes', args['rotate-bytes']),
    rotateKeep: parseCount('--rotate-keep', args['rotate-keep'], 1),
    metricsPort:
      args['metrics-port'] === undefined ? undefined : parseCount('--metrics-port', args['metrics-port'], 0, 65535),
    metricsHost: args['metrics-host'],
    opsPort: args['ops-port'] === undefined ? undefined : parseCount('--ops-port', args['ops-port'], 0, 65535),
    opsHost: args['ops-host'],
    record: args.record === undefined ? undefined : path.resolve(args.record),
    security: {
      tls: tlsOptions(args),
      allowedClientSans: args['allowed-client-san'],
      tokenFile: args['token-file'] === undefined ? undefined : path.resolve(args['token-file']),
      tokenHeader: args['token-header'].toLowerCase(),
      reloadIntervalMs: parseMs('--reload-interval', args['reload-interval']),
    },
    sinkModules: args['sink-module'].map((text) =>
      parseSinkModule(text, [...Object.keys(sinkFactories), 'prometheus']),
    ),
    prometheusPort:
      args['prometheus-port'] === undefined
        ? undefined
        : parseCount('--prometheus-port', args['prometheus-port'], 0, 65535),
    prometheusHost: args['prometheus-host'],
    prometheusMaxSeries: parseCount('--prometheus-max-series', args['prometheus-max-series'], 1),
  };
}

/** The adapter options that `mygrpcadapter [port] <argv>` would run with (for tests and tools). */
export async function adapterOptionsFromArgv(argv: string[]): Promise<AdapterOptions> {
  const args = await serveOptions(yargs(argv).command('$0 [port]', ''))
    .strict()
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new Error(msg ?? 'invalid arguments');
    })
    .parseAsync();
  return toAdapterOptions(args);
}

/**
 * SIGTERM/SIGINT: orderly stop, exit 0. Past the deadline: a log line, then
 * SIGKILL to itself (status 137), because process.exit() waits for libuv's
 * worker threads and a file operation stuck in the kernel (a hung NFS mount, a
 * pipe nobody reads) would keep the process alive forever.
 * SIGHUP: reopen file sinks.
 */
function handleSignals(adapter: RunningAdapter, deadlineMs: number): void {
  const onStop = (signal: NodeJS.Signals): void => {
    adapter.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      adapter.log.error({ deadlineMs }, 'shutdown deadline passed; killing the process without finishing');
      process.kill(process.pid, 'SIGKILL');
    }, deadlineMs);
    adapter.stop().then(
      () => {
        clearTimeout(deadline);
        adapter.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        adapter.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Crashes end as one JSON line too, then exit 1 as Node would.
  const crash = (what: string) => (err: unknown) => {
    adapter.log.fatal({ err }, what);
    process.exit(1);
  };
  process.once('uncaughtException', crash('uncaught exception'));
  process.once('unhandledRejection', crash('unhandled promise rejection'));
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  process.on('SIGHUP', () => {
    adapter.reopenSinks().catch((err: unknown) => adapter.log.error({ err }, 'reopening sinks failed'));
  });
}

export async function serve(args: ServeArgs): Promise<void> {
  const options = toAdapterOptions(args);
  const deadlineMs = parseMs('--shutdown-timeout', args['shutdown-timeout'], 1);
  let adapter: RunningAdapter;
  try {
    adapter = await startAdapter(options);
  } catch (err) {
    // Still JSON: whatever reads stderr as a log stream sees why the start
    // failed. startAdapter stopped whatever it had started; should anything
    // still hold the event loop, the process exits anyway. Unref'd: a clean
    // exit does not wait.
    createLogger(options.logLevel).fatal({ err }, 'start-up failed');
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 2_000).unref();
    return;
  }
  // Handlers go in before the pid file and the start line: whoever waits for either may signal at once.
  handleSignals(adapter, deadlineMs);
  const pidFile = args['pid-file'];
  if (pidFile !== undefined) {
    // The process that handles SIGHUP: `npm start` puts npm and a shell in
    // front of it, and npm forwards only SIGINT and SIGTERM (a SIGHUP kills npm).
    try {
      writeFileSync(pidFile, `${process.pid}\n`);
    } catch (err) {
      adapter.log.fatal({ err }, '--pid-file cannot be written');
      await adapter.stop();
      process.exit(1);
    }
    process.once('exit', () => rmSync(pidFile, { force: true }));
  }
  logStartLine(adapter, options);
}

/**
 * The start line: the address really bound (the walkthrough prints
 * `listening on "<addr>"`; tools and tests wait for this line and read its
 * `address`), the version, and the effective configuration. Written whatever
 * --log-level says, because starting tools depend on it.
 */
function logStartLine(adapter: RunningAdapter, options: AdapterOptions): void {
  const level = adapter.log.level;
  adapter.log.level = 'info';
  adapter.log.info(
    // The options hold paths and sizes, never a secret (token and key files
    // are named, not read); the logger's redaction paths apply regardless.
    { address: adapter.address, version: adapterVersion(), config: options },
    `listening on ${adapter.address}`,
  );
  adapter.log.level = level;
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: '$0 [port]',
  describe: 'serve HandleMetric and HandleAuthorization (Mixer dials this)',
  builder: (y) => serveOptions(y),
  handler: serve,
};

// `mygrpcadapter [port]`: run the adapter until SIGINT/SIGTERM.
import os from 'node:os';
import path from 'node:path';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { FORMATS, type FormatName } from '../decode/params.js';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions, type RunningAdapter } from '../main.js';
import type { TlsOptions } from '../server/tls.js';
import type { FsyncPolicy } from '../sinks/file.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const FSYNC: readonly FsyncPolicy[] = ['never', 'batch', 'interval'];
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
// One worker beside the main thread: the second core of a small node does the
// decoding while the first keeps up with HTTP/2.
const DEFAULT_DECODE_WORKERS = Math.min(2, Math.max(0, os.availableParallelism() - 1));

interface ServeArgs {
  port: number;
  host: string;
  'log-level': (typeof LEVELS)[number];
  format: FormatName;
  'data-dir': string;
  'max-message-bytes': number;
  'max-decode-bytes': number;
  'max-connection-age': number;
  'handler-cache-size': number;
  'decode-workers': number;
  'drain-delay': number;
  'shutdown-grace': number;
  'shutdown-timeout': number;
  'sink-buffer-bytes': number;
  'sink-wait': number;
  'sink-write-timeout': number;
  'strict-decision-records': boolean;
  fsync: FsyncPolicy;
  'fsync-interval': number;
  'rotate-bytes': number;
  'rotate-keep': number;
  'metrics-port': number | undefined;
  'metrics-host': string | undefined;
  'ops-port': number | undefined;
  'ops-host': string | undefined;
  record: string | undefined;
  'tls-cert': string | undefined;
  'tls-key': string | undefined;
  'tls-client-ca': string | undefined;
  'require-client-cert': boolean;
  'allowed-client-san': string[];
  'token-file': string | undefined;
  'token-header': string;
  'reload-interval': number;
}

const ms = (describe: string, value: number) => ({ type: 'number' as const, default: value, describe });

export function serveOptions<T>(y: Argv<T>) {
  return y
    .positional('port', { type: 'number', default: DEFAULT_OPTIONS.port, describe: 'TCP port; 0 picks a free one' })
    .option('host', { type: 'string', default: DEFAULT_OPTIONS.host, describe: 'address to bind ("::" = all)' })
    .option('log-level', { choices: LEVELS, default: DEFAULT_OPTIONS.logLevel })
    .option('format', {
      choices: FORMATS,
      default: DEFAULT_OPTIONS.format,
      describe: 'record format for handlers whose Params leave `format` empty',
    })
    .option('data-dir', {
      type: 'string',
      default: '.',
      describe: 'folder that relative file_path values resolve against',
    })
    .option('max-message-bytes', ms('largest request accepted', DEFAULT_OPTIONS.maxMessageBytes))
    .option(
      'max-decode-bytes',
      ms(
        'most memory one call may take to decode and format (estimated before decoding), else RESOURCE_EXHAUSTED',
        DEFAULT_OPTIONS.maxDecodeBytes,
      ),
    )
    .option(
      'max-connection-age',
      ms('ms after which a client connection is asked to reconnect, spreading Mixer over replicas (0 = never)', 0),
    )
    .option('handler-cache-size', ms('distinct handler configurations kept decoded', DEFAULT_OPTIONS.handlerCacheSize))
    .option(
      'decode-workers',
      ms('worker threads that decode and format large metric batches (0 = main thread only)', DEFAULT_DECODE_WORKERS),
    )
    .option(
      'drain-delay',
      ms('ms health reports NOT_SERVING before the server stops accepting', DEFAULT_OPTIONS.drainDelayMs),
    )
    .option('shutdown-grace', ms('ms in-flight calls get to finish on shutdown', DEFAULT_OPTIONS.shutdownGraceMs))
    .option(
      'shutdown-timeout',
      ms('ms after a signal when the process exits 1 whatever it is doing', DEFAULT_SHUTDOWN_TIMEOUT_MS),
    )
    .option('sink-buffer-bytes', ms('most bytes a sink holds queued or in flight', DEFAULT_OPTIONS.sinkBufferBytes))
    .option(
      'sink-wait',
      ms('ms a call waits for room in a full sink buffer, then RESOURCE_EXHAUSTED', DEFAULT_OPTIONS.sinkWaitMs),
    )
    .option(
      'sink-write-timeout',
      ms(
        'ms a call waits for its sink to take its records (open, room, write), then DEADLINE_EXCEEDED',
        DEFAULT_OPTIONS.sinkWriteTimeoutMs,
      ),
    )
    .option('strict-decision-records', {
      type: 'boolean',
      default: DEFAULT_OPTIONS.strictDecisionRecords,
      describe: 'fail a check whose decision record cannot be written (default: answer it, count and log the loss)',
    })
    .option('fsync', { choices: FSYNC, default: DEFAULT_OPTIONS.fsync, describe: 'when file sinks flush to disk' })
    .option('fsync-interval', ms('ms between flushes with --fsync interval', DEFAULT_OPTIONS.fsyncIntervalMs))
    .option(
      'rotate-bytes',
      ms('rotate a file sink before it grows past this size; 0 = never', DEFAULT_OPTIONS.rotateBytes),
    )
    .option('rotate-keep', ms('rotated files kept (path.1 .. path.N), at least 1', DEFAULT_OPTIONS.rotateKeep))
    .option('metrics-port', {
      type: 'number',
      describe: 'serve Prometheus metrics on this port at /metrics (off when absent)',
    })
    .option('metrics-host', { type: 'string', describe: 'address for the metrics port (default: --host)' })
    .option('ops-port', {
      type: 'number',
      describe: 'serve GET /healthz and /readyz (503 while draining) over HTTP on this port, and /metrics when on',
    })
    .option('ops-host', { type: 'string', describe: 'address for the ops port (default: --host)' })
    .option('record', {
      type: 'string',
      describe: 'append every received call (raw request, decoded view, answer) to this JSON-lines file',
    })
    .option('tls-cert', { type: 'string', describe: 'serve TLS with this PEM certificate chain (leaf first)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-client-ca', {
      type: 'string',
      describe: 'PEM CA bundle client certificates are verified against (mutual TLS)',
    })
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
      default: [] as string[],
      describe: 'URI SAN (SPIFFE ID) a client certificate must carry; repeatable, any one suffices',
    })
    .option('token-file', { type: 'string', describe: 'every call must present the token in this file' })
    .option('token-header', {
      type: 'string',
      default: DEFAULT_OPTIONS.security.tokenHeader,
      describe: 'header carrying the token (authorization: "Bearer <token>" or "<token>")',
    })
    .option('reload-interval', {
      type: 'number',
      default: DEFAULT_OPTIONS.security.reloadIntervalMs,
      describe: 'ms between re-reads of certificate and token files',
    });
}

function wholeNumber(name: string, value: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: expected an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}, got ${value}`);
  }
  return value;
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
    port: wholeNumber('port', args.port, 0, 65535),
    logLevel: args['log-level'],
    format: args.format,
    dataDir: path.resolve(args['data-dir']),
    maxMessageBytes: wholeNumber('--max-message-bytes', args['max-message-bytes'], 1),
    maxDecodeBytes: wholeNumber('--max-decode-bytes', args['max-decode-bytes'], 1),
    maxConnectionAgeMs: wholeNumber('--max-connection-age', args['max-connection-age']),
    handlerCacheSize: wholeNumber('--handler-cache-size', args['handler-cache-size'], 1),
    decodeWorkers: wholeNumber('--decode-workers', args['decode-workers'], 0, 64),
    drainDelayMs: wholeNumber('--drain-delay', args['drain-delay']),
    shutdownGraceMs: wholeNumber('--shutdown-grace', args['shutdown-grace']),
    sinkBufferBytes: wholeNumber('--sink-buffer-bytes', args['sink-buffer-bytes'], 1),
    sinkWaitMs: wholeNumber('--sink-wait', args['sink-wait']),
    sinkWriteTimeoutMs: wholeNumber('--sink-write-timeout', args['sink-write-timeout'], 1),
    strictDecisionRecords: args['strict-decision-records'],
    fsync: args.fsync,
    fsyncIntervalMs: wholeNumber('--fsync-interval', args['fsync-interval'], 1),
    rotateBytes: wholeNumber('--rotate-bytes', args['rotate-bytes']),
    rotateKeep: wholeNumber('--rotate-keep', args['rotate-keep'], 1),
    metricsPort:
      args['metrics-port'] === undefined ? undefined : wholeNumber('--metrics-port', args['metrics-port'], 0, 65535),
    metricsHost: args['metrics-host'],
    opsPort: args['ops-port'] === undefined ? undefined : wholeNumber('--ops-port', args['ops-port'], 0, 65535),
    opsHost: args['ops-host'],
    record: args.record === undefined ? undefined : path.resolve(args.record),
    security: {
      tls: tlsOptions(args),
      allowedClientSans: args['allowed-client-san'],
      tokenFile: args['token-file'] === undefined ? undefined : path.resolve(args['token-file']),
      tokenHeader: args['token-header'].toLowerCase(),
      reloadIntervalMs: args['reload-interval'],
    },
  };
}

/** The adapter options that `mygrpcadapter [port] <argv>` would run with (for tests and tools). */
export async function adapterOptionsFromArgv(argv: string[]): Promise<AdapterOptions> {
  const args = await serveOptions(yargs(argv).command('$0 [port]', '')).strict().parseAsync();
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
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  process.on('SIGHUP', () => {
    adapter.reopenSinks().catch((err: unknown) => adapter.log.error({ err }, 'reopening sinks failed'));
  });
}

export async function serve(args: ServeArgs): Promise<void> {
  const options = toAdapterOptions(args);
  const deadlineMs = wholeNumber('--shutdown-timeout', args['shutdown-timeout'], 1);
  const adapter = await startAdapter(options);
  // Handlers go in before the listening line: whoever waits for that line may signal at once.
  handleSignals(adapter, deadlineMs);
  // The walkthrough's start-up line, with the address really bound; on
  // stderr because stdout carries records.
  process.stderr.write(`listening on "${adapter.address}"\n`);
  adapter.log.info({ address: adapter.address }, 'adapter started');
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: '$0 [port]',
  describe: 'serve HandleMetric and HandleAuthorization (Mixer dials this)',
  builder: (y) => serveOptions(y),
  handler: serve,
};

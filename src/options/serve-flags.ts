// The serve command's flags, once: yargs' declarations, --help, the options
// object's type and defaults, and the docs' flag table all come from this
// table. Order here is the order in --help and in the docs.
import os from 'node:os';
import { FORMATS } from '../core/params/params.js';
import { DEFAULT_SINK_WRITE_TIMEOUT_MS } from '../core/sink-call.js';
import { MAX_SERIES_PER_METRIC } from '../core/params/prometheus-params.js';
import { DEFAULT_HANDLER_CACHE_BYTES } from '../core/handler-table.js';
import { DEFAULT_MAX_PARAMS_BYTES } from '../core/params/params.js';
import { DEFAULT_MAX_LABEL_VALUE_BYTES, DEFAULT_SERIES_MAX_BYTES } from '../sinks/prometheus/series.js';
import { DEFAULT_SECURITY, securityProblems, type SecurityOptions } from '../security/security.js';
import type { TlsOptions } from '../security/tls.js';
import type { FsyncPolicy } from '../sinks/file.js';
import { parseSinkModule } from '../sinks/plugin-loader.js';
import { sinkFactories } from '../sinks/registry.js';
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from '../transport/stream-guard.js';
import { budgetSize, choice, count, duration, file, list, port, size, text, toggle } from './flag.js';
import {
  ENVOY_FRONT_END_SHARE,
  memoryBudget,
  MiB,
  MIN_MEMORY_LIMIT_BYTES,
  REFERENCE_LIMIT_BYTES,
  shareOf,
  type MemoryBudget,
} from './memory-budget.js';
import { FlagProblems, readFlags, type OptionsOf } from './read-flags.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const FSYNC: readonly FsyncPolicy[] = ['never', 'batch', 'interval'];
/** Records queued for the sinks, all together: 16 MiB at 256 MiB (a stalled sink's backlog of seconds, not minutes). */
const SINK_BUFFER_SHARE = 1 / 16;
/** Each sink plug-in's worker heap: 32 MiB at 256 MiB, outside the adapter's own heap. */
const PLUGIN_HEAP_SHARE = 1 / 8;
// One worker beside the main thread: the second core of a small node does the
// decoding while the first keeps up with HTTP/2.
const SPARE_CORES = Math.min(2, Math.max(0, os.availableParallelism() - 1));

export const SERVE_FLAGS = [
  port({ flag: 'port', key: 'port', default: 8000, positional: true, describe: 'TCP port; 0 picks a free one' }),
  text({ flag: 'host', key: 'host', default: '::', value: 'HOST', describe: 'address to bind ("::" = all)' }),
  choice({
    flag: 'log-level',
    key: 'logLevel',
    choices: LEVELS,
    default: 'info',
    describe: 'least severe level logged',
  }),
  choice({
    flag: 'format',
    key: 'format',
    choices: FORMATS,
    default: 'text',
    describe: 'record format for handlers whose Params leave `format` empty',
  }),
  file({
    flag: 'data-dir',
    key: 'dataDir',
    default: '.',
    value: 'DIR',
    describe: 'existing, writable folder that relative file_path values resolve against (checked at start)',
  }),
  // A 100-request report of the sample config is 13 KB (realmixer); grpc-go's own default is 4 MiB.
  size({
    flag: 'max-message-bytes',
    key: 'maxMessageBytes',
    default: 4 * MiB,
    min: 1,
    describe: 'largest request accepted',
  }),
  size({
    flag: 'memory-limit',
    key: 'memoryLimit',
    min: MIN_MEMORY_LIMIT_BYTES,
    zero: true,
    shownDefault: "the container's (cgroup) limit",
    describe:
      'memory the adapter may use: sizes the V8 heap and every default marked "of --memory-limit"; 0 = no limit (heap as V8 sizes it, those defaults at 256Mi)',
  }),
  budgetSize({
    flag: 'max-decode-bytes',
    key: 'maxDecodeBytes',
    share: 1 / 8,
    min: 1,
    describe: 'most memory one call may take to decode and format (estimated before decoding), else RESOURCE_EXHAUSTED',
  }),
  budgetSize({
    flag: 'max-pending-request-bytes',
    key: 'maxPendingRequestBytes',
    share: DEFAULT_STREAM_LIMITS.maxPendingRequestBytes / REFERENCE_LIMIT_BYTES,
    min: 1,
    describe:
      'most request bytes still arriving over all streams; past it the connection holding the most loses its largest stream',
  }),
  duration({
    flag: 'max-connection-age',
    key: 'maxConnectionAgeMs',
    default: 0,
    describe: 'age after which a client connection is asked to reconnect, spreading Mixer over replicas (0 = never)',
  }),
  count({
    flag: 'handler-cache-size',
    key: 'handlerCacheSize',
    default: 256,
    min: 1,
    describe: 'distinct handler configurations kept decoded',
  }),
  budgetSize({
    flag: 'handler-cache-bytes',
    key: 'handlerCacheBytes',
    share: DEFAULT_HANDLER_CACHE_BYTES / REFERENCE_LIMIT_BYTES,
    min: 64 * 1024,
    describe: 'most memory the cached handler configurations may take (estimated); the least recently used go first',
  }),
  size({
    flag: 'max-params-bytes',
    key: 'maxParamsBytes',
    default: DEFAULT_MAX_PARAMS_BYTES,
    min: 1024,
    describe: 'largest adapter_config (Params) accepted; a larger one is INVALID_ARGUMENT, naming the bound',
  }),
  count({
    flag: 'decode-workers',
    key: 'decodeWorkers',
    default: SPARE_CORES,
    max: 64,
    shownDefault: 'spare cores, at most 2',
    describe: 'worker threads that decode and format large metric batches (0 = main thread only)',
  }),
  duration({
    flag: 'drain-delay',
    key: 'drainDelayMs',
    default: 0,
    describe: 'how long health reports NOT_SERVING before the server stops accepting',
  }),
  duration({
    flag: 'shutdown-grace',
    key: 'shutdownGraceMs',
    default: 10_000,
    describe: 'how long in-flight calls get to finish on shutdown',
  }),
  duration({
    flag: 'shutdown-timeout',
    key: 'shutdownTimeoutMs',
    default: 30_000,
    min: 1,
    describe:
      'time after a signal when the process logs an error and kills itself (exit status 137), whatever it is doing',
  }),
  budgetSize({
    flag: 'sink-buffer-bytes',
    key: 'sinkBufferBytes',
    share: SINK_BUFFER_SHARE,
    min: 1,
    describe: 'most bytes the sinks hold queued or in flight, each and all together',
  }),
  duration({
    flag: 'sink-wait',
    key: 'sinkWaitMs',
    default: 2_000,
    describe: 'how long a call waits for room in a full sink buffer, then RESOURCE_EXHAUSTED',
  }),
  duration({
    flag: 'sink-write-timeout',
    key: 'sinkWriteTimeoutMs',
    default: DEFAULT_SINK_WRITE_TIMEOUT_MS,
    min: 1,
    describe: 'how long a call waits for its sink to take its records (open, room, write), then DEADLINE_EXCEEDED',
  }),
  toggle({
    flag: 'strict-decision-records',
    key: 'strictDecisionRecords',
    describe: 'fail a check whose decision record cannot be written (default: answer it, count and log the loss)',
  }),
  choice({ flag: 'fsync', key: 'fsync', choices: FSYNC, default: 'never', describe: 'when file sinks flush to disk' }),
  duration({
    flag: 'fsync-interval',
    key: 'fsyncIntervalMs',
    default: 1_000,
    min: 1,
    describe: 'time between flushes with --fsync interval',
  }),
  size({
    flag: 'rotate-bytes',
    key: 'rotateBytes',
    default: 0,
    describe: 'rotate a file sink before it grows past this size; 0 = never',
  }),
  count({ flag: 'rotate-keep', key: 'rotateKeep', default: 5, min: 1, describe: 'rotated files kept, at least 1' }),
  port({
    flag: 'metrics-port',
    key: 'metricsPort',
    describe: 'serve Prometheus metrics on this port at /metrics (off when absent)',
  }),
  text({
    flag: 'metrics-host',
    key: 'metricsHost',
    value: 'HOST',
    shownDefault: '--host',
    describe: 'address for the metrics port',
  }),
  port({
    flag: 'ops-port',
    key: 'opsPort',
    describe: 'serve GET /healthz and /readyz (503 while draining) over HTTP on this port, and /metrics when on',
  }),
  text({
    flag: 'ops-host',
    key: 'opsHost',
    value: 'HOST',
    shownDefault: '--host',
    describe: 'address for the ops port',
  }),
  file({
    flag: 'record',
    key: 'record',
    value: 'FILE',
    describe:
      'append every received call (request, decoded view, answer) to this JSON-lines file; auth_key, tokens and credential header values masked as `***`',
  }),
  toggle({
    flag: 'record-secrets',
    key: 'recordSecrets',
    describe:
      'keep the secrets --record masks (auth_key, tokens, header values) in its file, so that every call replays; WARNING: the file then holds live keys and credentials',
  }),
  file({
    flag: 'tls-cert',
    key: 'security.tls.certFile',
    value: 'FILE',
    describe: 'serve TLS with this PEM certificate chain (leaf first)',
  }),
  file({ flag: 'tls-key', key: 'security.tls.keyFile', value: 'FILE', describe: 'PEM private key of --tls-cert' }),
  file({
    flag: 'tls-client-ca',
    key: 'security.tls.clientCaFile',
    value: 'FILE',
    describe: 'PEM CA bundle client certificates are verified against (mutual TLS)',
  }),
  toggle({
    flag: 'require-client-cert',
    key: 'security.tls.requireClientCert',
    describe: 'refuse clients without a certificate from --tls-client-ca',
  }),
  list({
    flag: 'allowed-client-san',
    key: 'security.allowedClientSans',
    value: 'URI',
    describe: 'URI SAN (SPIFFE ID) a client certificate must carry; repeatable, any one suffices',
  }),
  file({
    flag: 'keys-dir',
    key: 'keysDir',
    value: 'DIR',
    describe:
      "folder of key sets (one folder per set, e.g. a mounted Secret; one file per key, named by the key's id) that handlers name in Params key_set; re-read every --reload-interval",
  }),
  file({
    flag: 'token-file',
    key: 'security.tokenFile',
    value: 'FILE',
    describe: 'every call must present the token in this file',
  }),
  text({
    flag: 'token-header',
    key: 'security.tokenHeader',
    default: DEFAULT_SECURITY.tokenHeader,
    value: 'NAME',
    lowerCase: true,
    describe: 'header carrying the token (authorization: "Bearer <token>" or "<token>")',
  }),
  file({
    flag: 'pid-file',
    key: 'pidFile',
    value: 'FILE',
    describe: "write the adapter's own process id here once it listens (for logrotate's postrotate kill -HUP)",
  }),
  duration({
    flag: 'reload-interval',
    key: 'security.reloadIntervalMs',
    default: DEFAULT_SECURITY.reloadIntervalMs,
    describe: 'time between re-reads of certificate and token files',
  }),
  list({
    flag: 'operator-config',
    key: 'operatorConfig',
    value: 'PATH',
    describe:
      'Mixer operator config (handler, instance, rule and attribute manifest YAML; a file or a folder) that drives the Envoy front-ends (ext_authz, access logs), served on the gRPC port when given; repeatable',
  }),
  list({
    flag: 'sink-module',
    key: 'sinkModules',
    value: 'NAME=MODULE',
    each: (typed: string) => parseSinkModule(typed, [...Object.keys(sinkFactories), 'prometheus']),
    describe:
      'NAME=MODULE: a sink plug-in (package name or file path) that handlers select with `sink: NAME`; repeatable',
  }),
  budgetSize({
    flag: 'sink-module-heap-bytes',
    key: 'sinkModuleHeapBytes',
    share: PLUGIN_HEAP_SHARE,
    min: MiB,
    describe:
      "V8 heap of each sink plug-in's worker thread; a plug-in that outgrows it is restarted (a fault), not the adapter",
  }),
  port({
    flag: 'prometheus-port',
    key: 'prometheusPort',
    describe: 'enable sink "prometheus" and serve its series on this port at /metrics (off when absent)',
  }),
  text({
    flag: 'prometheus-host',
    key: 'prometheusHost',
    value: 'HOST',
    shownDefault: '--host',
    describe: 'address for --prometheus-port',
  }),
  count({
    flag: 'prometheus-max-series',
    key: 'prometheusMaxSeries',
    default: 10_000,
    min: 1,
    max: MAX_SERIES_PER_METRIC,
    describe: 'series per metric of sink "prometheus" when Params leave max_series_per_metric 0',
  }),
  budgetSize({
    flag: 'prometheus-max-bytes',
    key: 'prometheusMaxBytes',
    share: DEFAULT_SERIES_MAX_BYTES / REFERENCE_LIMIT_BYTES,
    min: 1024,
    describe:
      'memory all series of sink "prometheus" may take (estimated); new series beyond it are refused and counted',
  }),
  count({
    flag: 'prometheus-max-label-bytes',
    key: 'prometheusMaxLabelBytes',
    default: DEFAULT_MAX_LABEL_VALUE_BYTES,
    min: 1,
    describe:
      'longest label value of sink "prometheus" in UTF-8 bytes; an instance with a longer one is refused and counted',
  }),
] as const;

/** The options object as the table reads it, before the TLS flags become one optional group. */
type FlagOptions = OptionsOf<typeof SERVE_FLAGS>;

/**
 * What the adapter runs with: the table's options, except that `security` is
 * the security module's own SecurityOptions (the compiler checks the table's
 * security.* flags against it; the four TLS flags become its one optional
 * `tls`, absent cert and key meaning plaintext), plus `streams`, which is not
 * on the command line. `shutdownTimeoutMs` and `pidFile` are read by the
 * serve command (signals, pid file), not by startAdapter.
 */
export type AdapterOptions = Omit<FlagOptions, 'security'> & {
  security: SecurityOptions;
  /** The memory limit the defaults marked "of --memory-limit" were taken of, and the heap it asks for. */
  memory: MemoryBudget;
  /** Connection and stream bounds over all connections (tests tighten them). */
  streams?: Partial<StreamLimits>;
};

/**
 * The parts of the budget outside the adapter's V8 heap, which come off the
 * heap's part: the sinks' and the arriving requests' Buffers, and each sink
 * plug-in's worker heap (counted from --sink-module as typed), and the
 * Envoy front-ends' share when --operator-config is given.
 */
function outsideHeapShare(argv: Readonly<Record<string, unknown>>): number {
  const share = (key: string): number => SERVE_FLAGS.find((f) => f.key === key)!.share!;
  const plugins = [argv['sink-module'] ?? []].flat().length;
  const envoy = [argv['operator-config'] ?? []].flat().length > 0 ? ENVOY_FRONT_END_SHARE : 0;
  return share('sinkBufferBytes') + share('maxPendingRequestBytes') + plugins * share('sinkModuleHeapBytes') + envoy;
}

/** --memory-limit alone, first: the other flags' defaults depend on it (a bad value is reported with the rest). */
function readMemoryLimit(argv: Readonly<Record<string, unknown>>): number | undefined {
  const flag = SERVE_FLAGS.find((f) => f.key === 'memoryLimit')!;
  try {
    return flag.read(argv[flag.name]);
  } catch {
    return undefined;
  }
}

/** The leading `--flag` of a problem, to tell which flags already have one. */
const FLAG = /^--[a-z][a-z-]*/;

/** The TLS flags as one group: both files or neither, and nothing that needs them without them. */
function tlsGroup(tls: FlagOptions['security']['tls'], problems: string[]): TlsOptions | undefined {
  const { certFile, keyFile, clientCaFile, requireClientCert } = tls;
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined) problems.push('--tls-client-ca needs --tls-cert and --tls-key');
    if (requireClientCert) problems.push('--require-client-cert needs --tls-cert and --tls-key');
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    problems.push('--tls-cert and --tls-key go together');
    return undefined;
  }
  return { certFile, keyFile, clientCaFile, requireClientCert };
}

/**
 * yargs' argv for the serve command -> AdapterOptions; throws FlagProblems
 * naming every bad flag: values that cannot be read first, then flags that
 * do not go together (a flag already refused for its value is not blamed
 * again for what it combines with).
 */
export function readServeOptions(argv: Readonly<Record<string, unknown>>): AdapterOptions {
  const memory = memoryBudget(readMemoryLimit(argv), outsideHeapShare(argv));
  const { values, problems } = readFlags(SERVE_FLAGS, argv, (flag) =>
    flag.share === undefined ? flag.default : shareOf(memory, flag.share),
  );
  const read = values as FlagOptions;
  const combined: string[] = [];
  const security: SecurityOptions = { ...read.security, tls: tlsGroup(read.security.tls, combined) };
  const options: AdapterOptions = { ...read, security, memory };
  if (combined.length === 0) combined.push(...securityProblems(options.security));
  if (options.maxPendingRequestBytes < options.maxMessageBytes) {
    combined.push(
      `--max-pending-request-bytes (${options.maxPendingRequestBytes}) is less than --max-message-bytes ` +
        `(${options.maxMessageBytes}): the largest request could never arrive; raise it, or --memory-limit`,
    );
  }
  if (options.recordSecrets && options.record === undefined) combined.push('--record-secrets needs --record');
  const flagOf = (problem: string): string | undefined => FLAG.exec(problem)?.[0];
  const refused = new Set(problems.map(flagOf));
  problems.push(...combined.filter((p) => flagOf(p) === undefined || !refused.has(flagOf(p))));
  if (problems.length > 0) throw new FlagProblems(problems);
  return options;
}

/** Every flag at its default (the data dir is the working directory at load). */
export const DEFAULT_OPTIONS: AdapterOptions = readServeOptions({});

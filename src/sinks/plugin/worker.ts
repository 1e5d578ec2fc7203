// The worker thread one sink plug-in module runs in (host.ts starts it). The
// module is imported here, so its top-level code, its timers, its CPU and its
// faults stay off the thread that serves calls: an uncaught exception or an
// unhandled rejection ends this worker only, and the host restarts it.
import { format, inspect } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { RecordSink, SinkSpec } from '../sink.js';
import type { HostMessage, PluginErrorData, PluginErrorKind, PluginWorkerData, WorkerMessage } from './protocol.js';

type CreateSink = (spec: SinkSpec, env: { log: PluginLog }) => unknown;

const port = parentPort!;
const { target } = workerData as PluginWorkerData;
const post = (m: WorkerMessage): void => port.postMessage(m);

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

// What would kill the worker (an uncaught exception, or an unhandled
// rejection, which Node raises as one) is reported first, then the worker
// exits: the host drains this port before it sees the exit, so it can say which
// fault it was (an 'error' event may overtake the report).
process.on('uncaughtException', (err, origin) => {
  try {
    const stack = err instanceof Error ? err.stack : undefined;
    post(
      stack === undefined
        ? { t: 'fault', origin, message: describeError(err) }
        : { t: 'fault', origin, message: describeError(err), stack },
    );
  } finally {
    process.exit(1);
  }
});

// --- env.log: a pino-like logger whose lines the host writes to the adapter's log.

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type Level = (typeof LEVELS)[number];
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
let logLevel = 'info';

type LogFn = (objOrMsg?: unknown, ...rest: unknown[]) => void;
type PluginLog = Record<Level, LogFn> & {
  readonly level: string;
  child(bindings: Record<string, unknown>): PluginLog;
  isLevelEnabled(level: string): boolean;
};

const enabled = (level: string): boolean => (LEVEL_VALUES[level] ?? 0) >= (LEVEL_VALUES[logLevel] ?? Infinity);

/** Errors become what pino's serializer would print; the rest is left to the structured clone. */
function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { type: value.name, message: value.message, stack: value.stack, ...(code === undefined ? {} : { code }) };
  }
  return value;
}

function logLine(level: Level, bindings: Record<string, unknown>, first: unknown, rest: unknown[]): void {
  let obj: Record<string, unknown> = {};
  let msg: string;
  if (typeof first === 'string') {
    msg = format(first, ...rest);
  } else {
    if (first instanceof Error) obj = { err: plain(first) };
    else if (first !== null && typeof first === 'object') {
      obj = Object.fromEntries(Object.entries(first).map(([k, v]) => [k, plain(v)]));
    }
    msg = rest.length === 0 ? '' : format(...rest);
  }
  const line: WorkerMessage = { t: 'log', level, bindings, obj, msg };
  try {
    post(line);
  } catch {
    // something in obj cannot be cloned (a function, a socket): log it as inspect() prints it
    post({ ...line, obj: { fields: inspect(obj, { depth: 4, breakLength: Infinity }) } });
  }
}

function makeLog(bindings: Record<string, unknown>): PluginLog {
  const log = {
    get level() {
      return logLevel;
    },
    child: (more: Record<string, unknown>) => makeLog({ ...bindings, ...more }),
    isLevelEnabled: enabled,
  } as PluginLog;
  for (const level of LEVELS) {
    log[level] = (first?: unknown, ...rest: unknown[]) => {
      if (enabled(level)) logLine(level, bindings, first, rest);
    };
  }
  return log;
}

// --- the module and its sinks

let createSink: CreateSink | undefined;
const sinks = new Map<number, RecordSink>();

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
}

function factoryOf(exports: Record<string, unknown>): CreateSink | undefined {
  const named = exports.createSink;
  if (typeof named === 'function') return named as CreateSink;
  const fromDefault = (exports.default as Record<string, unknown> | undefined)?.createSink;
  return typeof fromDefault === 'function' ? (fromDefault as CreateSink) : undefined;
}

function errorData(kind: PluginErrorKind, err: unknown): PluginErrorData {
  const message = (err as Error | undefined)?.message ?? String(err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? { kind, message, code } : { kind, message };
}

function shapeProblem(sink: unknown): string | undefined {
  const s = sink as Partial<RecordSink> | null | undefined;
  const missing = (['write', 'close'] as const).filter((m) => typeof s?.[m] !== 'function');
  if (s !== null && typeof s === 'object' && missing.length === 0) return undefined;
  return `createSink returned ${s === null ? 'null' : typeof s}${missing.length > 0 ? ` without ${missing.join(', ')}()` : ''}; expected { write(records), close(), flush?() }`;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | undefined)?.then === 'function';
}

async function open(m: Extract<HostMessage, { t: 'open' }>): Promise<void> {
  logLevel = m.logLevel;
  let created: unknown;
  try {
    created = await createSink!(m.spec, { log: makeLog({}) });
  } catch (err) {
    post({ t: 'error', id: m.id, error: errorData('factory', err) });
    return;
  }
  const problem = shapeProblem(created);
  if (problem !== undefined) {
    post({ t: 'error', id: m.id, error: { kind: 'shape', message: problem } });
    return;
  }
  sinks.set(m.sink, created as RecordSink);
  post({ t: 'done', id: m.id });
}

async function call(m: Extract<HostMessage, { t: 'call' }>): Promise<void> {
  const sink = sinks.get(m.sink);
  if (!sink || (m.method === 'flush' && typeof sink.flush !== 'function')) {
    // A sink without flush() has nothing to flush; one closed already has nothing to close.
    if (sink || m.method === 'close') post({ t: 'done', id: m.id });
    else post({ t: 'error', id: m.id, error: { kind: 'failed', message: 'the sink is closed', code: 'ECLOSED' } });
    return;
  }
  let result: unknown;
  try {
    result = m.method === 'write' ? sink.write(m.records ?? []) : sink[m.method]!();
  } catch (err) {
    post({ t: 'error', id: m.id, error: errorData('threw', err) });
    return;
  }
  if (!isThenable(result)) {
    post({ t: 'error', id: m.id, error: { kind: 'contract', message: `returned ${typeof result}`, code: 'EPLUGIN' } });
    return;
  }
  try {
    await result;
    post({ t: 'done', id: m.id });
  } catch (err) {
    post({ t: 'error', id: m.id, error: errorData('failed', err) });
  } finally {
    if (m.method === 'close') sinks.delete(m.sink);
  }
}

port.on('message', (m: HostMessage) => {
  switch (m.t) {
    case 'open':
      void open(m);
      return;
    case 'call':
      void call(m);
      return;
    case 'ping':
      post({ t: 'done', id: m.id });
      return;
  }
});

try {
  const exports = (await import(target)) as Record<string, unknown>;
  createSink = factoryOf(exports);
  post({ t: 'loaded', exports: Object.keys(exports), hasFactory: createSink !== undefined });
} catch (err) {
  post({ t: 'loadFailed', notFound: isNotFound(err), message: (err as Error | undefined)?.message ?? String(err) });
}

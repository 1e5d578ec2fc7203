// One sink plug-in module in a worker thread of its own (worker.ts), seen
// from the thread that serves calls. The plug-in's CPU runs there, so a
// plug-in that spins holds up its own calls only; its uncaught exceptions and
// unhandled rejections end its worker, never the process. A fault fails the
// calls the worker had in hand with a SinkError naming the plug-in, is logged
// and counted, and the worker restarts after a backoff, reopening the sinks
// it had; a plug-in that keeps failing stays disabled, with an error that
// says so. Records cross as structured clones: the plug-in gets copies.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log.js';
import type { AdapterRecord } from '../../record/types.js';
import { SinkError, WRITE_DEADLINE, type RecordSink, type SinkSpec } from '../sink.js';
import type { HostMessage, PluginErrorData, PluginMethod, PluginWorkerData, WorkerMessage } from './protocol.js';

/** How faults are contained. */
export interface PluginIsolation {
  /** Wait before the first restart after a fault; doubled for each further fault within the window. */
  restartDelayMs: number;
  /** Longest wait before a restart. */
  maxRestartDelayMs: number;
  /** This many faults within `faultWindowMs` disable the plug-in until the adapter restarts. */
  maxFaults: number;
  faultWindowMs: number;
  /**
   * After a call timed out, the worker is pinged; one whose event loop does not
   * answer within this time (a busy loop, a blocking call) is stopped and restarted.
   */
  stallMs: number;
  /** Calls that timed out and are still unanswered; past this, the worker is restarted to free what they hold. */
  maxAbandonedCalls: number;
  /** Longest createSink() may take in the worker. */
  openTimeoutMs: number;
  /** The worker's V8 old generation (MiB): a plug-in that outgrows it is stopped and restarted, not the adapter. */
  maxHeapMb: number;
}

export const DEFAULT_PLUGIN_ISOLATION: Readonly<PluginIsolation> = {
  restartDelayMs: 100,
  maxRestartDelayMs: 5_000,
  maxFaults: 5,
  faultWindowMs: 60_000,
  stallMs: 10_000,
  maxAbandonedCalls: 256,
  maxHeapMb: 32,
  openTimeoutMs: 30_000,
};

/** SinkError code of the calls a plug-in's worker had in hand when it failed (INTERNAL). */
export const PLUGIN_CRASHED = 'EPLUGINCRASH';
/** SinkError code of every call to a plug-in that kept failing (INTERNAL). */
export const PLUGIN_DISABLED = 'EPLUGINDISABLED';
/** SinkError code while the worker restarts: EAGAIN, so the call gets UNAVAILABLE (try again). */
export const PLUGIN_RESTARTING = 'EAGAIN';

export type PluginFaultKind =
  | 'uncaughtException'
  | 'unhandledRejection'
  /** The worker ended by itself (process.exit() in the plug-in). */
  | 'exit'
  /** The worker outgrew its heap (maxHeapMb). */
  | 'outOfMemory'
  /** Its event loop did not answer a ping within stallMs after a call timed out. */
  | 'unresponsive'
  /** More than maxAbandonedCalls timed-out calls were never answered. */
  | 'stuck'
  /** A restarted worker could not load the module or reopen its sinks. */
  | 'restart';

/** What is reported for each fault (logged, counted, and passed to onFault listeners). */
export interface PluginFault {
  /** The plug-in's NAME. */
  plugin: string;
  kind: PluginFaultKind;
  /** What happened, e.g. "uncaught exception: Error: socket hang up". */
  message: string;
  /** Faults within the fault window, this one included. */
  recentFaults: number;
  /** True when this fault disabled the plug-in. */
  disabled: boolean;
  /** When the worker restarts (absent once disabled). */
  restartInMs?: number;
}

export type PluginState = 'starting' | 'up' | 'restarting' | 'disabled' | 'stopped';

/** Live counters of one plug-in, for metrics. */
export interface PluginCounters {
  /** Faults since the adapter started. */
  faults: number;
  /** Workers started again after a fault. */
  restarts: number;
  state: PluginState;
}

/** The module could not be imported in the worker. */
export class PluginLoadError extends Error {
  override name = 'PluginLoadError';
  constructor(
    message: string,
    readonly notFound: boolean,
  ) {
    super(message);
  }
}

/** createSink threw, rejected, did not settle, or returned something that is not a sink. */
export class PluginOpenError extends Error {
  override name = 'PluginOpenError';
  constructor(readonly data: PluginErrorData) {
    super(data.message);
  }
}

export interface PluginModuleInfo {
  exports: string[];
  hasFactory: boolean;
}

interface Pending {
  ok(): void;
  failed(data: PluginErrorData): void;
  /** The worker is gone: reject with `err`. */
  dropped(err: Error): void;
  timer?: NodeJS.Timeout;
}

const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** The built worker script; sources run by the tests use the build too (npm test builds first). */
function workerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.js')) return new URL('./worker.js', here);
  return new URL('../../../dist/src/sinks/plugin/worker.js', here);
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export class PluginHost {
  readonly counters: PluginCounters = { faults: 0, restarts: 0, state: 'stopped' };
  private readonly what: string;
  private worker: Worker | undefined;
  /** Bumped whenever the worker is replaced or stopped: work begun for an older one is dropped. */
  private generation = 0;
  private nextId = 1;
  private nextSink = 1;
  private readonly pending = new Map<number, Pending>();
  /** Calls whose deadline passed and that the worker has not answered yet. */
  private readonly abandoned = new Set<number>();
  /** The open sinks by id, with their spec, reopened when a worker restarts. */
  private readonly sinks = new Map<number, SinkSpec>();
  /** Settles the import under way in a new worker (once). */
  private loading: { resolve(info: PluginModuleInfo): void; reject(err: Error): void } | undefined;
  private starting: Promise<PluginModuleInfo> | undefined;
  /** The dying worker's own account of its fault (origin and error). */
  private report: { origin: string; message: string; stack?: string } | undefined;
  private recentFaults: number[] = [];
  private lastFault = '';
  private disabledError: SinkError | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly listeners: Array<(fault: PluginFault) => void> = [];
  private log: Logger | undefined;
  private pluginLog: Logger | undefined;

  constructor(
    private readonly name: string,
    /** What the worker imports: a file: URL or a package name. */
    private readonly target: string,
    /** Per call (--sink-write-timeout). */
    private readonly timeoutMs: number,
    private readonly options: PluginIsolation = DEFAULT_PLUGIN_ISOLATION,
  ) {
    this.what = `sink plug-in "${name}"`;
  }

  onFault(listener: (fault: PluginFault) => void): void {
    this.listeners.push(listener);
  }

  /** Starts the worker and imports the module in it. */
  async start(): Promise<PluginModuleInfo> {
    this.generation++;
    this.counters.state = 'starting';
    try {
      const info = await this.spawn();
      this.counters.state = 'up';
      this.worker?.unref();
      return info;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Opens a sink for `spec` in the worker (createSink); resolves with its id. */
  async open(spec: SinkSpec, log: Logger | undefined): Promise<number> {
    if (log && !this.log) {
      this.log = log;
      this.pluginLog = log.child({ sink: this.name });
    }
    if (this.counters.state === 'stopped' || this.starting) {
      // The last sink closed and stopped the worker; start it again (once, for concurrent opens).
      this.starting ??= this.start().finally(() => (this.starting = undefined));
      const info = await this.starting;
      if (!info.hasFactory) throw new PluginOpenError({ kind: 'factory', message: 'the module exports no createSink' });
    }
    const unavailable = this.unavailable();
    if (unavailable) throw unavailable;
    const sink = this.nextSink++;
    await this.openInWorker(sink, spec);
    this.sinks.set(sink, spec);
    return sink;
  }

  /** The sink `id` of the worker as a RecordSink whose calls settle within --sink-write-timeout. */
  sink(id: number): RecordSink {
    return {
      write: (records: readonly AdapterRecord[]) => this.call(id, 'write', records),
      flush: () => this.call(id, 'flush'),
      close: () => this.close(id),
    };
  }

  /** Stops the worker (the last sink closed, or shutdown). A disabled plug-in stays disabled. */
  async stop(): Promise<void> {
    this.generation++;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopWatchdog();
    if (this.counters.state !== 'disabled') this.counters.state = 'stopped';
    this.dropPending(new SinkError(`${this.what} is closed`, 'ECLOSED'));
    this.loading?.reject(new PluginLoadError('stopped while loading', false));
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private async close(id: number): Promise<void> {
    if (!this.sinks.has(id)) return;
    try {
      if (this.counters.state === 'up') await this.call(id, 'close');
    } finally {
      this.sinks.delete(id);
      if (this.sinks.size === 0) await this.stop();
    }
  }

  private call(sink: number, method: PluginMethod, records?: readonly AdapterRecord[]): Promise<void> {
    const unavailable = this.unavailable();
    if (unavailable) return Promise.reject(unavailable);
    return this.request(
      records === undefined ? { t: 'call', id: 0, sink, method } : { t: 'call', id: 0, sink, method, records },
      (data) => this.callError(method, data),
      this.timeoutMs,
      () =>
        new SinkError(
          `${this.what}: ${method}() did not settle within ${this.timeoutMs} ms (--sink-write-timeout)`,
          WRITE_DEADLINE,
        ),
    );
  }

  private openInWorker(sink: number, spec: SinkSpec): Promise<void> {
    const logLevel = this.log?.level ?? 'info';
    return this.request(
      { t: 'open', id: 0, sink, spec, logLevel },
      (data) => new PluginOpenError(data),
      this.options.openTimeoutMs,
      () => new PluginOpenError({ kind: 'timeout', message: `did not settle within ${this.options.openTimeoutMs} ms` }),
    );
  }

  private callError(method: PluginMethod, data: PluginErrorData): SinkError {
    switch (data.kind) {
      case 'threw':
        return new SinkError(`${this.what}: ${method}() threw: ${data.message}`, data.code);
      case 'contract':
        return new SinkError(`${this.what}: ${method}() ${data.message}, the contract asks for a promise`, 'EPLUGIN');
      case 'failed':
      case 'factory':
      case 'shape':
      case 'timeout':
        return new SinkError(`${this.what}: ${method}() failed: ${data.message}`, data.code);
    }
  }

  /** Why a call cannot go to the worker now, if it cannot. */
  private unavailable(): SinkError | undefined {
    switch (this.counters.state) {
      case 'up':
        return undefined;
      case 'disabled':
        return this.disabledError;
      case 'restarting':
        return new SinkError(
          `${this.what} is restarting after a fault (${this.lastFault}); try again shortly`,
          PLUGIN_RESTARTING,
        );
      case 'starting':
      case 'stopped':
        return new SinkError(`${this.what} is not running`, 'ECLOSED');
    }
  }

  private request(
    message: HostMessage,
    failed: (data: PluginErrorData) => Error,
    timeoutMs: number,
    expired: () => Error,
  ): Promise<void> {
    const w = this.worker;
    if (!w) return Promise.reject(this.unavailable() ?? new SinkError(`${this.what} is not running`, 'ECLOSED'));
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const settled = () => {
        clearTimeout(pending.timer);
        this.pending.delete(id);
      };
      const pending: Pending = {
        ok: () => {
          settled();
          resolve();
        },
        failed: (data) => {
          settled();
          reject(failed(data));
        },
        dropped: (err) => {
          settled();
          reject(err);
        },
      };
      pending.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(expired());
        this.abandon(id);
      }, timeoutMs);
      this.pending.set(id, pending);
      try {
        w.postMessage({ ...message, id });
      } catch (err) {
        pending.dropped(new SinkError(`${this.what}: cannot hand the call to its worker: ${describe(err)}`, 'EPLUGIN'));
      }
    });
  }

  /** A call timed out: the worker may be stuck; see whether its event loop still answers. */
  private abandon(id: number): void {
    this.abandoned.add(id);
    if (this.abandoned.size > this.options.maxAbandonedCalls) {
      this.fault(
        'stuck',
        `${this.abandoned.size} calls timed out without an answer; its worker was stopped to free what they hold`,
      );
      return;
    }
    if (this.watchdog || !this.worker || this.counters.state !== 'up') return;
    const id2 = this.nextId++;
    const generation = this.generation;
    const stallMs = this.options.stallMs;
    this.pending.set(id2, {
      ok: () => {
        this.pending.delete(id2);
        this.stopWatchdog();
      },
      failed: () => undefined,
      dropped: () => this.pending.delete(id2),
    });
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      this.pending.delete(id2);
      if (generation === this.generation) {
        this.fault(
          'unresponsive',
          `its worker did not answer for ${stallMs} ms after a call timed out (a busy loop or a blocking call?); it was stopped`,
        );
      }
    }, stallMs);
    this.worker.postMessage({ t: 'ping', id: id2 } satisfies HostMessage);
  }

  private stopWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
  }

  private spawn(): Promise<PluginModuleInfo> {
    const data: PluginWorkerData = { name: this.name, target: this.target };
    const w = new Worker(workerUrl(), {
      workerData: data,
      name: this.what,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb },
    });
    this.worker = w;
    this.report = undefined;
    w.on('message', (m: WorkerMessage) => {
      if (this.worker === w) this.onMessage(m);
    });
    w.on('error', (err) => {
      if (this.worker === w) this.onDeath(err, undefined);
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.onDeath(undefined, code);
    });
    const limitMs = this.options.openTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.loading?.reject(new PluginLoadError(`importing it took longer than ${limitMs} ms`, false)),
        limitMs,
      );
      const settled = () => {
        clearTimeout(timer);
        this.loading = undefined;
      };
      this.loading = {
        resolve: (info) => {
          settled();
          resolve(info);
        },
        reject: (err) => {
          settled();
          reject(err);
        },
      };
    });
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.t) {
      case 'loaded':
        this.loading?.resolve({ exports: m.exports, hasFactory: m.hasFactory });
        return;
      case 'loadFailed':
        this.loading?.reject(new PluginLoadError(m.message, m.notFound));
        return;
      case 'done':
        if (!this.abandoned.delete(m.id)) this.pending.get(m.id)?.ok();
        return;
      case 'error':
        if (!this.abandoned.delete(m.id)) this.pending.get(m.id)?.failed(m.error);
        return;
      case 'log':
        this.pluginLine(m);
        return;
      case 'fault':
        this.report = { origin: m.origin, message: m.message, ...(m.stack === undefined ? {} : { stack: m.stack }) };
        return;
    }
  }

  private pluginLine(m: Extract<WorkerMessage, { t: 'log' }>): void {
    if (!this.pluginLog || !LOG_LEVELS.has(m.level)) return;
    const log = Object.keys(m.bindings).length > 0 ? this.pluginLog.child(m.bindings) : this.pluginLog;
    log[m.level as 'info'](m.obj, m.msg);
  }

  /** The worker ended: an uncaught exception or unhandled rejection ('error'), or it exited. */
  private onDeath(err: unknown, exitCode: number | undefined): void {
    const report = this.report;
    this.worker = undefined;
    let kind: PluginFaultKind;
    let message: string;
    if ((err as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      kind = 'outOfMemory';
      message = `its worker ran out of its ${this.options.maxHeapMb} MiB heap (--sink-module-heap-bytes)`;
    } else if (report?.origin === 'unhandledRejection') {
      kind = 'unhandledRejection';
      message = `unhandled rejection: ${report.message}`;
    } else if (report || err !== undefined) {
      kind = 'uncaughtException';
      message = `uncaught exception: ${report?.message ?? describe(err)}`;
    } else {
      kind = 'exit';
      message = `its worker exited with code ${exitCode} (process.exit() in the plug-in?)`;
    }
    if (this.loading) {
      // The module's own top-level code failed: whoever was loading it reports that.
      this.loading.reject(new PluginLoadError(message, false));
      return;
    }
    this.fault(kind, message);
  }

  /** Fails what the worker had in hand, counts and logs the fault, and restarts the worker or disables the plug-in. */
  private fault(kind: PluginFaultKind, message: string): void {
    this.generation++;
    this.stopWatchdog();
    const w = this.worker;
    this.worker = undefined;
    if (w) void w.terminate();
    const now = Date.now();
    this.recentFaults = [...this.recentFaults.filter((t) => t > now - this.options.faultWindowMs), now];
    const recent = this.recentFaults.length;
    const headline =
      kind === 'unresponsive'
        ? `is unresponsive: ${message}`
        : kind === 'stuck'
          ? `is stuck: ${message}`
          : kind === 'restart'
            ? `could not be restarted: ${message}`
            : `crashed: ${message}`;
    this.lastFault = message;
    this.counters.faults++;
    const disabled = recent >= this.options.maxFaults;
    const fault: PluginFault = { plugin: this.name, kind, message, recentFaults: recent, disabled };
    const logged = { plugin: this.name, fault: kind, recentFaults: recent, reason: message, stack: this.report?.stack };
    if (disabled) {
      const windowS = Math.round(this.options.faultWindowMs / 1000);
      this.counters.state = 'disabled';
      this.disabledError = new SinkError(
        `${this.what} is disabled: its worker failed ${recent} times within ${windowS} s (last: ${message}); ` +
          'fix the plug-in and restart the adapter',
        PLUGIN_DISABLED,
      );
      this.dropPending(new SinkError(`${this.what} ${headline}; it is now disabled`, PLUGIN_CRASHED));
      this.log?.error(logged, this.disabledError.message);
    } else {
      const delay = Math.min(this.options.maxRestartDelayMs, this.options.restartDelayMs * 2 ** (recent - 1));
      fault.restartInMs = delay;
      this.counters.state = 'restarting';
      this.dropPending(new SinkError(`${this.what} ${headline}; its worker is restarted`, PLUGIN_CRASHED));
      this.restartTimer = setTimeout(() => void this.restart(), delay);
      this.log?.error(
        { ...logged, restartInMs: delay },
        `${this.what} ${headline}; restarting its worker in ${delay} ms`,
      );
    }
    for (const listener of this.listeners) listener(fault);
  }

  private dropPending(err: SinkError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.abandoned.clear();
    for (const p of all) p.dropped(err);
  }

  /** A new worker: import the module, reopen every sink the old one had, then take calls again. */
  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    this.counters.restarts++;
    const generation = this.generation;
    try {
      const info = await this.spawn();
      if (!info.hasFactory) throw new Error('the module no longer exports createSink');
      for (const [sink, spec] of this.sinks) {
        if (generation !== this.generation) return;
        await this.openInWorker(sink, spec);
      }
    } catch (err) {
      if (generation !== this.generation) return;
      const why =
        err instanceof PluginOpenError
          ? `createSink failed: ${err.message}`
          : err instanceof PluginLoadError
            ? `loading the module failed: ${err.message}`
            : describe(err);
      this.fault('restart', why);
      return;
    }
    if (generation !== this.generation) return;
    this.counters.state = 'up';
    this.worker?.unref();
    this.log?.info({ plugin: this.name, restarts: this.counters.restarts }, `${this.what} worker restarted`);
  }
}

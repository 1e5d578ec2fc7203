// --sink-module NAME=MODULE: loads a sink plug-in at start-up and turns it
// into a SinkFactory like the built-ins'. The module runs in a worker thread
// of its own (plugin/host.ts, plugin/worker.ts), so its CPU and its faults
// stay off the thread that serves calls. Everything that can be wrong with a
// module (not found, no createSink export, createSink throws or returns the
// wrong shape) stops the start with a message naming the flag.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../log.js';
import type { SinkEnvironment, SinkFactory } from './registry.js';
import type { RecordSink, SinkSpec } from './sink.js';
import { PluginSink } from './plugin-sink.js';
import { PLUGIN_SINK_NAME } from './enabling-flag.js';
import {
  DEFAULT_PLUGIN_ISOLATION,
  PluginHost,
  PluginLoadError,
  PluginOpenError,
  type PluginCounters,
  type PluginFault,
  type PluginIsolation,
} from './plugin/host.js';

export interface SinkModuleOption {
  /** The sink type key handlers select with `sink: NAME`. */
  name: string;
  /** An installed package name, or a file path (starts with "." or "/", or names an existing file). */
  module: string;
}

/** What createSink gets beside its spec, in the plug-in's worker thread. */
export interface PluginEnvironment {
  /**
   * A pino-like logger (trace...fatal, child, level, isLevelEnabled); the
   * adapter writes its lines to its own log, with `sink: NAME`.
   */
  log: Pick<Logger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'level' | 'isLevelEnabled'>;
}

/** The exports a plug-in module must have (worker.ts calls createSink). */
export interface SinkModule {
  createSink(spec: SinkSpec, env: PluginEnvironment): RecordSink | Promise<RecordSink>;
}

export class SinkModuleError extends Error {
  override name = 'SinkModuleError';
}

/** Parses one `NAME=MODULE` value; `reserved` are the built-in type keys. */
export function parseSinkModule(text: string, reserved: readonly string[]): SinkModuleOption {
  const eq = text.indexOf('=');
  const name = eq < 0 ? '' : text.slice(0, eq);
  const module = eq < 0 ? '' : text.slice(eq + 1);
  const flag = `--sink-module ${text}`;
  if (!PLUGIN_SINK_NAME.test(name) || module === '') {
    throw new SinkModuleError(`${flag}: expected NAME=MODULE with NAME like "http-lines" (a-z, 0-9, _ -)`);
  }
  if (reserved.includes(name)) throw new SinkModuleError(`${flag}: "${name}" is a built-in sink type`);
  return { name, module };
}

/** "./x.mjs", "/opt/x.js", or an existing file such as "examples/http-sink/index.mjs"; else a package name. */
function isPath(module: string): boolean {
  if (module.startsWith('.') || path.isAbsolute(module)) return true;
  try {
    return statSync(path.resolve(module)).isFile();
  } catch {
    return false;
  }
}

/** What the worker imports: a path from the working directory, or a package installed there or beside the adapter. */
function importTarget(option: SinkModuleOption): string {
  if (isPath(option.module)) return pathToFileURL(path.resolve(option.module)).href;
  try {
    return pathToFileURL(createRequire(path.join(process.cwd(), 'noop.js')).resolve(option.module)).href;
  } catch {
    return option.module; // not installed in the working directory: try beside the adapter
  }
}

export interface LoadedSinkModule {
  name: string;
  factory: SinkFactory;
  /** Faults, restarts and state of the plug-in's worker, live (for a metric). */
  faults: Readonly<PluginCounters>;
  /** Calls `listener` on each fault of the plug-in's worker (already logged). */
  onFault(listener: (fault: PluginFault) => void): void;
  /** Ends the worker, whatever sinks are still open (they fail from then on). */
  stop(): Promise<void>;
}

/**
 * Starts the plug-in's worker, imports the module there and checks it exports
 * createSink. The factory returned opens one plug-in sink per spec, as the
 * pool asks; main.ts opens the first at start-up so a factory that throws
 * stops the start. The worker stops when the last sink closes.
 */
export async function loadSinkModule(
  option: SinkModuleOption,
  writeTimeoutMs: number,
  isolation: Partial<PluginIsolation> = {},
): Promise<LoadedSinkModule> {
  const flag = `--sink-module ${option.name}=${option.module}`;
  const target = importTarget(option);
  const host = new PluginHost(option.name, target, writeTimeoutMs, { ...DEFAULT_PLUGIN_ISOLATION, ...isolation });
  let info;
  try {
    info = await host.start();
  } catch (err) {
    if (err instanceof PluginLoadError && err.notFound)
      throw new SinkModuleError(`${flag}: module not found (${target})`);
    throw new SinkModuleError(`${flag}: loading the module failed: ${(err as Error).message}`);
  }
  if (!info.hasFactory) {
    await host.stop();
    const found = info.exports.join(', ') || 'nothing';
    throw new SinkModuleError(`${flag}: the module exports no createSink function (it exports ${found})`);
  }
  const what = `sink plug-in "${option.name}"`;
  const open = async (spec: SinkSpec, sinkEnv: SinkEnvironment): Promise<PluginSink> => {
    let id: number;
    try {
      id = await host.open(spec, sinkEnv.log);
    } catch (err) {
      if (!(err instanceof PluginOpenError)) throw err;
      if (err.data.kind === 'shape') throw new SinkModuleError(`${flag}: ${err.message}`);
      if (err.data.kind === 'timeout') throw new SinkModuleError(`${flag}: createSink ${err.message}`);
      throw new SinkModuleError(`${flag}: createSink threw: ${err.message}`);
    }
    const sink: RecordSink = host.sink(id);
    return new PluginSink(what, sink, sinkEnv.buffer, sinkEnv.events?.(spec));
  };
  return {
    name: option.name,
    factory: open,
    faults: host.counters,
    onFault: (listener) => host.onFault(listener),
    stop: () => host.stop(),
  };
}

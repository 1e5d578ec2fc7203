// --sink-module NAME=MODULE: loads a sink plug-in at start-up and turns it
// into a SinkFactory like the built-ins'. Everything that can be wrong with a
// module (not found, no createSink export, createSink throws or returns the
// wrong shape) stops the start with a message naming the flag.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SinkEnvironment, SinkFactory } from './registry.js';
import type { RecordSink, SinkSpec } from './sink.js';
import { PluginSink } from './plugin-sink.js';
import { PLUGIN_SINK_NAME } from './enabling-flag.js';

export interface SinkModuleOption {
  /** The sink type key handlers select with `sink: NAME`. */
  name: string;
  /** An installed package name, or a file path (starts with "." or "/", or names an existing file). */
  module: string;
}

/** The exports a plug-in module must have. */
export interface SinkModule {
  createSink(spec: SinkSpec, env: SinkEnvironment): RecordSink | Promise<RecordSink>;
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

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
}

/** Imports MODULE: a path from the working directory, or a package installed there or beside the adapter. */
async function importModule(option: SinkModuleOption, flag: string): Promise<Record<string, unknown>> {
  let target: string;
  if (isPath(option.module)) {
    target = pathToFileURL(path.resolve(option.module)).href;
  } else {
    try {
      target = pathToFileURL(createRequire(path.join(process.cwd(), 'noop.js')).resolve(option.module)).href;
    } catch {
      target = option.module; // not installed in the working directory: try beside the adapter
    }
  }
  try {
    return (await import(target)) as Record<string, unknown>;
  } catch (err) {
    if (isNotFound(err)) throw new SinkModuleError(`${flag}: module not found (${target})`);
    throw new SinkModuleError(`${flag}: loading the module failed: ${(err as Error).message}`);
  }
}

function factoryOf(exports: Record<string, unknown>): SinkModule['createSink'] | undefined {
  const named = exports.createSink;
  if (typeof named === 'function') return named as SinkModule['createSink'];
  const fromDefault = (exports.default as Record<string, unknown> | undefined)?.createSink;
  return typeof fromDefault === 'function' ? (fromDefault as SinkModule['createSink']) : undefined;
}

function checkShape(sink: unknown, flag: string): RecordSink {
  const s = sink as Partial<RecordSink> | null | undefined;
  const missing = (['write', 'close'] as const).filter((m) => typeof s?.[m] !== 'function');
  if (s === null || typeof s !== 'object' || missing.length > 0) {
    throw new SinkModuleError(
      `${flag}: createSink returned ${s === null ? 'null' : typeof s}${missing.length > 0 ? ` without ${missing.join(', ')}()` : ''}; expected { write(records), close(), flush?() }`,
    );
  }
  return s as RecordSink;
}

export interface LoadedSinkModule {
  name: string;
  factory: SinkFactory;
}

/**
 * Imports the module and checks it exports createSink. The factory returned
 * opens one plug-in sink per spec, as the pool asks; main.ts opens the first
 * at start-up so a factory that throws stops the start.
 */
export async function loadSinkModule(option: SinkModuleOption, writeTimeoutMs: number): Promise<LoadedSinkModule> {
  const flag = `--sink-module ${option.name}=${option.module}`;
  const exports = await importModule(option, flag);
  const createSink = factoryOf(exports);
  if (!createSink) {
    const found = Object.keys(exports).join(', ') || 'nothing';
    throw new SinkModuleError(`${flag}: the module exports no createSink function (it exports ${found})`);
  }
  const what = `sink plug-in "${option.name}"`;
  const open = async (spec: SinkSpec, sinkEnv: SinkEnvironment): Promise<PluginSink> => {
    const pluginEnv: SinkEnvironment = { ...sinkEnv, log: sinkEnv.log?.child({ sink: option.name }) };
    let created: unknown;
    try {
      created = await createSink(spec, pluginEnv);
    } catch (err) {
      throw new SinkModuleError(`${flag}: createSink threw: ${(err as Error | undefined)?.message ?? String(err)}`);
    }
    return new PluginSink(what, checkShape(created, flag), writeTimeoutMs, sinkEnv.buffer, sinkEnv.events?.(spec));
  };
  return { name: option.name, factory: open };
}

// The messages between a sink plug-in's worker thread (worker.ts) and the
// adapter's thread (host.ts). Everything crosses as a structured clone: the
// records and specs are plain data, errors travel as their message and code.
import type { AdapterRecord } from '../../record/types.js';
import type { SinkSpec } from '../sink.js';

/** What the worker is started with. */
export interface PluginWorkerData {
  /** The plug-in's sink type key (--sink-module NAME). */
  name: string;
  /** What import() is given: a file: URL, or a package name to resolve beside the adapter. */
  target: string;
}

export type PluginMethod = 'write' | 'flush' | 'close';

export type HostMessage =
  /** Calls createSink(spec, env) and keeps the sink as `sink`. */
  | { t: 'open'; id: number; sink: number; spec: SinkSpec; logLevel: string }
  | { t: 'call'; id: number; sink: number; method: PluginMethod; records?: readonly AdapterRecord[] }
  /** Answered at once by a worker whose event loop is free. */
  | { t: 'ping'; id: number };

/** How a plug-in call or createSink went wrong, as the host words it. */
export type PluginErrorKind =
  /** The method threw synchronously. */
  | 'threw'
  /** The method returned something other than a promise. */
  | 'contract'
  /** The promise rejected. */
  | 'failed'
  /** createSink threw or rejected. */
  | 'factory'
  /** createSink returned something that is not a sink. */
  | 'shape'
  /** The host stopped waiting (never sent by the worker). */
  | 'timeout';

export interface PluginErrorData {
  kind: PluginErrorKind;
  message: string;
  /** The error's `code` when it is a string (ECONNREFUSED...). */
  code?: string;
}

export type WorkerMessage =
  /** The module is imported; `exports` are its export names. */
  | { t: 'loaded'; exports: string[]; hasFactory: boolean }
  | { t: 'loadFailed'; notFound: boolean; message: string }
  | { t: 'done'; id: number }
  | { t: 'error'; id: number; error: PluginErrorData }
  /** A line the plug-in logged through env.log. */
  | { t: 'log'; level: string; bindings: Record<string, unknown>; obj: Record<string, unknown>; msg: string }
  /** Sent as the worker dies of an uncaught exception or unhandled rejection (origin as Node names it). */
  | { t: 'fault'; origin: string; message: string; stack?: string };

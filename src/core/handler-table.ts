// adapter_config bytes -> handler (validated config + sink spec), bounded LRU.
// Mixer sends identical bytes on every call of one handler configuration, so
// decoding and validating happen once per configuration.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Any__Output } from '../generated/google/protobuf/Any.js';
import { decodeParams, type FormatName, type HandlerConfig } from './params/params.js';
import { confineToDataDir } from '../sinks/path-guard.js';
import type { SinkPool } from '../sinks/registry.js';
import type { Sink, SinkSpec } from '../sinks/sink.js';
import type { ConfigView } from '../record/types.js';

export interface Handler {
  /** The cache key: type_url and Params bytes. */
  key: string;
  /** Short stable id of this configuration for logs and metric labels; derived from nothing secret (see handlerId). */
  id: string;
  config: HandlerConfig;
  sinkSpec: SinkSpec;
  /** Whether this cache entry holds a reference on its sink in the pool. */
  holdsSink: boolean;
}

export interface HandlerTableOptions {
  defaultFormat: FormatName;
  /** Folder that relative file_path values resolve against and that no file_path may leave. */
  baseDir: string;
  maxEntries: number;
}

/** What the table reports as it goes (logs and metrics hang off these). */
export interface HandlerTableEvents {
  created?(handler: Handler): void;
  evicted?(handler: Handler): void;
  refused?(err: unknown): void;
  /** A call could not open its handler's sink (its records are not written). */
  sinkOpenFailed?(handler: Handler, err: unknown): void;
}

/**
 * sha256 prefix of what the `new handler configuration` log line shows beside
 * the id (the config view, auth_key masked as `***`), never of the Params
 * bytes: those hold auth_key, and a hash prefix of them let a short key be
 * guessed offline. So the id is the same on every replica and after restarts,
 * and configurations that differ only in auth_key share it.
 */
export function handlerId(view: ConfigView): string {
  const canonical = JSON.stringify(view, Object.keys(view).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}

const NO_CONFIG = '\u0000absent';
/** How many recent adapter_configs resolve() recognises without building a key. */
const RECENT_CONFIGS = 4;

export class HandlerTable {
  private readonly cache: LRUCache<string, Handler>;

  constructor(
    private readonly sinks: SinkPool,
    private readonly options: HandlerTableOptions,
    private readonly events: HandlerTableEvents = {},
  ) {
    this.cache = new LRUCache<string, Handler>({
      max: options.maxEntries,
      dispose: (handler, _key, reason) => {
        if (handler.holdsSink) this.sinks.release(handler.sinkSpec);
        if (reason === 'evict') this.events.evicted?.(handler);
      },
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /** The handler for this adapter_config; throws InvalidInputError for bad Params or a file_path outside the data dir (not cached). */
  resolve(any: Any__Output | null): Handler {
    const key = any ? (this.recentKey(any) ?? `${any.type_url}\u0000${any.value.toString('latin1')}`) : NO_CONFIG;
    let handler = this.cache.get(key);
    if (!handler) {
      let config: HandlerConfig;
      let sinkPath = '';
      try {
        config = decodeParams(any, this.sinks.types);
        if (config.sink === 'file') sinkPath = confineToDataDir(config.filePath, this.options.baseDir);
      } catch (err) {
        this.events.refused?.(err);
        throw err;
      }
      handler = {
        key,
        id: handlerId(config.view),
        config,
        sinkSpec: {
          type: config.sink,
          path: sinkPath,
          format: config.format === '' ? this.options.defaultFormat : config.format,
          prometheus: config.prometheus,
        },
        holdsSink: false,
      };
      this.cache.set(key, handler);
      this.events.created?.(handler);
    }
    this.remember(any, key);
    return handler;
  }

  // The last few adapter_configs seen, compared by bytes: Mixer repeats the
  // same one or two on every call, and this skips building (and hashing) the
  // cache key string, a copy of the Params bytes, each time.
  private readonly recent: { typeUrl: string; value: Buffer; key: string }[] = [];

  private recentKey(any: Any__Output): string | undefined {
    for (const r of this.recent) {
      if (r.typeUrl === any.type_url && r.value.equals(any.value)) return r.key;
    }
    return undefined;
  }

  private remember(any: Any__Output | null, key: string): void {
    if (!any || this.recent.some((r) => r.key === key)) return;
    // A copy: the request's buffer may be a slice of a pooled or reused one.
    this.recent.unshift({ typeUrl: any.type_url, value: Buffer.from(any.value), key });
    if (this.recent.length > RECENT_CONFIGS) this.recent.pop();
  }

  /**
   * Runs `use` with the handler's sink open. The call holds its own reference
   * so an eviction in the meantime cannot close the sink under it.
   */
  async withSink<T>(handler: Handler, use: (sink: Sink) => Promise<T>): Promise<T> {
    let sink: Sink;
    try {
      sink = await this.sinks.acquire(handler.sinkSpec);
    } catch (err) {
      this.events.sinkOpenFailed?.(handler, err);
      throw err;
    }
    try {
      if (!handler.holdsSink && this.cache.peek(handler.key) === handler) {
        this.sinks.retain(handler.sinkSpec);
        handler.holdsSink = true;
      }
      return await use(sink);
    } finally {
      this.sinks.release(handler.sinkSpec);
    }
  }

  /** Drops every handler (their sink references go back to the pool). */
  clear(): void {
    this.cache.clear();
  }
}

// adapter_config bytes -> handler (validated config + sink spec), bounded LRU.
// Mixer sends identical bytes on every call of one handler configuration, so
// decoding and validating happen once per configuration.
//
// Bounds: Params over maxParamsBytes are refused before they are hashed or
// kept; the cache is keyed by a keyed SHA-256 of the bytes (not the bytes:
// 300 configurations with a 4 MB auth_key once kept 1.2 GB of keys), and
// holds at most maxEntries handlers and maxBytes of their estimated size.
import { createHash, createHmac, hash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Any__Output } from '../generated/google/protobuf/Any.js';
import {
  checkParamsSize,
  decodeParams,
  DEFAULT_MAX_PARAMS_BYTES,
  type FormatName,
  type HandlerConfig,
} from './params/params.js';
import { confineToDataDir } from '../sinks/path-guard.js';
import { SinkPool } from '../sinks/registry.js';
import type { Sink, SinkSpec } from '../sinks/sink.js';
import type { ConfigView } from '../record/types.js';

export interface Handler {
  /**
   * The cache key: a SHA-256 of type_url and the Params bytes, keyed with a
   * secret drawn at random for each table. Never logged nor exposed: the
   * Params hold auth_key, and a plain hash of them would let a short key be
   * guessed offline; keyed, even a leaked digest says nothing.
   */
  key: string;
  /** Short id of this configuration for logs and metric labels; tells nothing about auth_key (see handlerId). */
  id: string;
  config: HandlerConfig;
  sinkSpec: SinkSpec;
  /** Whether this cache entry holds a reference on its sink in the pool. */
  holdsSink: boolean;
  /** Estimated bytes this handler keeps alive while cached (what the byte bound counts). */
  retainedBytes: number;
}

export interface HandlerTableOptions {
  defaultFormat: FormatName;
  /** Folder that relative file_path values resolve against and that no file_path may leave. */
  baseDir: string;
  /** Most handlers cached (--handler-cache-size). */
  maxEntries: number;
  /** Most estimated bytes of cached handlers; default DEFAULT_HANDLER_CACHE_BYTES. */
  maxBytes?: number;
  /** Most Params bytes one adapter_config may hold; default DEFAULT_MAX_PARAMS_BYTES (params.ts). */
  maxParamsBytes?: number;
}

/**
 * Most estimated bytes of all cached handlers together. 256 entries (the
 * --handler-cache-size default) at the 64 KiB Params bound fit; a handler is
 * usually under 4 KiB (auth_key is kept only as a digest), while one whose
 * Prometheus metrics expand into thousands of buckets can reach megabytes:
 * those are what this bound evicts.
 */
export const DEFAULT_HANDLER_CACHE_BYTES = 16 * 1024 * 1024;

/** What a handler costs besides its config: the Handler and LRU entry, key and id strings, sink spec. */
const HANDLER_OVERHEAD_BYTES = 1024;

/**
 * A generous estimate of the V8 heap `value` keeps alive: 2 bytes per
 * character plus a header per string, 8 bytes per number or slot, a header
 * per object or array. Shared strings are counted each time they appear.
 */
export function estimateRetainedBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 24 + 2 * value.length;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8;
    case 'bigint':
      return 24;
    case 'object': {
      if (value === null) return 8;
      if (Array.isArray(value)) {
        let n = 32;
        for (const item of value as unknown[]) {
          // A number or boolean lives in its slot.
          n += 8 + (typeof item === 'object' || typeof item === 'string' ? estimateRetainedBytes(item) : 0);
        }
        return n;
      }
      let n = 48;
      for (const item of Object.values(value)) n += 16 + estimateRetainedBytes(item);
      return n;
    }
    case 'function':
    case 'symbol':
      return 8;
  }
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
 * the id (the config view, auth_key masked as `***`) and, for a configuration
 * with an auth_key, of `secretTag`: an HMAC of the key under a key each table
 * draws at random (HandlerTable.secretTag). Never a hash of the Params bytes
 * or of auth_key alone: a short key could then be guessed offline from the id.
 * So configurations that differ only in auth_key get different ids (their
 * metric series stay apart), a configuration without one has the same id on
 * every replica and after restarts, and one with a key gets an id of this
 * process only, which says nothing about the key.
 */
export function handlerId(view: ConfigView, secretTag = ''): string {
  const canonical = JSON.stringify(view, Object.keys(view).sort());
  const sha = createHash('sha256').update(canonical);
  // JSON has no raw newline: the tag cannot run into the view.
  if (secretTag !== '') sha.update('\n' + secretTag);
  return sha.digest('hex').slice(0, 8);
}

const NO_CONFIG = '\u0000absent';
/** How many recent adapter_configs resolve() recognises without building a key. */
const RECENT_CONFIGS = 4;

export class HandlerTable {
  private readonly cache: LRUCache<string, Handler>;
  /** The secret every cache key is hashed with: random, never leaves this table. */
  private readonly keySecret = randomBytes(32);
  /** The key of the HMAC that handler ids take of auth_key (a key of its own: one purpose each). */
  private readonly idSecret = randomBytes(32);
  private readonly maxParamsBytes: number;

  constructor(
    private readonly sinks: SinkPool,
    private readonly options: HandlerTableOptions,
    private readonly events: HandlerTableEvents = {},
  ) {
    this.maxParamsBytes = options.maxParamsBytes ?? DEFAULT_MAX_PARAMS_BYTES;
    this.cache = new LRUCache<string, Handler>({
      max: options.maxEntries,
      maxSize: options.maxBytes ?? DEFAULT_HANDLER_CACHE_BYTES,
      sizeCalculation: (handler) => Math.max(1, handler.retainedBytes),
      dispose: (handler, _key, reason) => {
        if (handler.holdsSink) this.sinks.release(handler.sinkSpec);
        if (reason === 'evict') this.events.evicted?.(handler);
      },
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /** Estimated bytes of the cached handlers (at most maxBytes). */
  get bytes(): number {
    return this.cache.calculatedSize;
  }

  /**
   * The handler for this adapter_config; throws InvalidInputError for Params
   * over the size bound, bad Params or a file_path outside the data dir (none
   * of them cached).
   */
  resolve(any: Any__Output | null): Handler {
    let key = NO_CONFIG;
    if (any) {
      const recent = this.recentKey(any);
      if (recent !== undefined) {
        key = recent;
      } else {
        try {
          checkParamsSize(any, this.maxParamsBytes);
        } catch (err) {
          this.events.refused?.(err);
          throw err;
        }
        key = this.digest(any);
      }
    }
    let handler = this.cache.get(key);
    if (!handler) {
      let config: HandlerConfig;
      let sinkPath = '';
      try {
        config = decodeParams(any, this.sinks.types, { maxBytes: this.maxParamsBytes });
        if (config.sink === 'file') sinkPath = confineToDataDir(config.filePath, this.options.baseDir);
      } catch (err) {
        this.events.refused?.(err);
        throw err;
      }
      const sinkSpec = {
        type: config.sink,
        path: sinkPath,
        format: config.format === '' ? this.options.defaultFormat : config.format,
        prometheus: config.prometheus,
      };
      handler = {
        key,
        id: handlerId(config.view, this.secretTag(config)),
        config,
        sinkSpec,
        holdsSink: false,
        // The spec shares config's prometheus settings; the pool's key
        // string of the spec (their JSON) lives as long as the spec does.
        retainedBytes:
          HANDLER_OVERHEAD_BYTES +
          estimateRetainedBytes(config) +
          estimateRetainedBytes(sinkPath) +
          estimateRetainedBytes(SinkPool.key(sinkSpec)),
      };
      this.cache.set(key, handler);
      this.events.created?.(handler);
    }
    this.remember(any, key);
    return handler;
  }

  /**
   * The cache key of `any` (see Handler.key): fixed size whatever the Params
   * hold. SHA-256 over the table's secret, then type_url (after its length,
   * so no two inputs run together), then the Params bytes; crypto.hash, the
   * one-shot form, costs a fraction of an HMAC object per call.
   */
  private digest(any: Any__Output): string {
    const typeUrl = Buffer.from(`${Buffer.byteLength(any.type_url)}:${any.type_url}`);
    return hash('sha256', Buffer.concat([this.keySecret, typeUrl, any.value]), 'base64');
  }

  /** What handlerId mixes in for auth_key: its digest under this table's random id key; "" without a key. */
  private secretTag(config: HandlerConfig): string {
    if (config.authKeyDigest === null) return '';
    return createHmac('sha256', this.idSecret).update(config.authKeyDigest).digest('hex');
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
    if (!any) return;
    for (const r of this.recent) if (r.key === key) return; // a loop, not some(): no closure per call
    // A copy: the request's buffer may be a slice of a pooled or reused one.
    this.recent.unshift({ typeUrl: any.type_url, value: Buffer.from(any.value), key });
    if (this.recent.length > RECENT_CONFIGS) this.recent.pop();
  }

  /**
   * Runs `use` with the handler's sink open. The call holds its own reference
   * so an eviction in the meantime cannot close the sink under it.
   */
  withSink<T>(handler: Handler, use: (sink: Sink) => Promise<T>): Promise<T> {
    // The sink is open for every call but a configuration's first: use it
    // without awaiting the pool's promise (an await per call).
    const open = this.sinks.acquireOpen(handler.sinkSpec);
    return open === undefined ? this.withSinkOpening(handler, use) : this.useSink(handler, open, use);
  }

  /**
   * withSink() for a caller that holds the reference itself: the handler's
   * sink when it is open, with a reference the caller gives back with
   * releaseSink() once its use settles; undefined (nothing held) when it is
   * not open yet (then withSink()). Saves a call on the hot path its async
   * wrapper.
   */
  openSink(handler: Handler): Sink | undefined {
    const sink = this.sinks.acquireOpen(handler.sinkSpec);
    if (sink !== undefined) this.holdFor(handler);
    return sink;
  }

  releaseSink(handler: Handler): void {
    this.sinks.release(handler.sinkSpec);
  }

  /** A cached handler keeps its sink open between calls (its own reference, dropped on eviction). */
  private holdFor(handler: Handler): void {
    if (!handler.holdsSink && this.cache.peek(handler.key) === handler) {
      this.sinks.retain(handler.sinkSpec);
      handler.holdsSink = true;
    }
  }

  private async withSinkOpening<T>(handler: Handler, use: (sink: Sink) => Promise<T>): Promise<T> {
    let sink: Sink;
    try {
      sink = await this.sinks.acquire(handler.sinkSpec);
    } catch (err) {
      this.events.sinkOpenFailed?.(handler, err);
      throw err;
    }
    return this.useSink(handler, sink, use);
  }

  /** `use` with `sink`, acquired for this call; released when `use` settles. */
  private async useSink<T>(handler: Handler, sink: Sink, use: (sink: Sink) => Promise<T>): Promise<T> {
    try {
      this.holdFor(handler);
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

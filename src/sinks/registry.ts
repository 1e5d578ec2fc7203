// Sink types by key, and the pool that shares one open sink per spec among
// all handler configurations and calls that use it.
import { lstat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { FormatName } from '../core/params/params.js';
import { formatters } from '../format/index.js';
import type { Logger } from '../log.js';
import { createRepeatLog, type RepeatLog } from '../observe/repeat-log.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { DEFAULT_FILE_SINK_OPTIONS, FileSink, type FileSinkOptions } from './file.js';
import { DESTINATION_TAKEN, SinkError, type Sink, type SinkSpec } from './sink.js';
import { StreamSink, StreamTurns } from './stdout.js';

export interface SinkEnvironment {
  /** Where "stdout" sinks write; process.stdout outside tests. */
  stdout: Writable;
  /** Buffer bounds of every sink. */
  buffer: BufferLimits;
  /** fsync and rotation of file sinks. */
  file: Omit<FileSinkOptions, 'buffer'>;
  /** Writer events of the sink opened for `spec` (metrics). */
  events?: (spec: SinkSpec) => WriterEvents;
  /** The adapter's logger; plug-ins get a child of it naming their sink. */
  log?: Logger;
  /** How many file paths the pool keeps the format of (see SinkPool); default DEFAULT_PATH_CLAIMS. */
  pathClaims?: PathClaimLimits;
  /**
   * Where reopen failures (SIGHUP) are logged, rate-limited: the adapter's
   * repeat log. Without it the pool keeps one of its own over `log`, and
   * without `log` it reports them to onCloseError one by one.
   */
  notes?: RepeatLog;
  /** The turns stdout sinks take on `stdout`; the pool makes one when absent. */
  stdoutTurns?: StreamTurns;
}

export interface PathClaimLimits {
  /** Most paths whose format is remembered; a new path past it is refused until a claimed file is gone. */
  max: number;
  /** At most one look for claimed files that are gone per this many ms (it costs one lstat per claim). */
  pruneIntervalMs: number;
}

/**
 * 10,000 paths (~100 bytes each plus the path: 1-4 MB at most); an adapter
 * normally writes a handful. The data dir bounds path lengths: the adapter
 * creates files, never folders.
 */
export const DEFAULT_PATH_CLAIMS: PathClaimLimits = { max: 10_000, pruneIntervalMs: 10_000 };

export const DEFAULT_SINK_ENVIRONMENT: Omit<SinkEnvironment, 'stdout'> = {
  buffer: UNBOUNDED,
  file: DEFAULT_FILE_SINK_OPTIONS,
};

/**
 * Opens a sink; may reject (SinkError) so a bad destination fails on its
 * first call. Built-in sinks and --sink-module plug-ins (wrapped by
 * plugin-loader.ts) are all factories of this shape.
 */
export type SinkFactory = (spec: SinkSpec, env: SinkEnvironment) => Promise<Sink>;

/** The built-in file and stdout sinks; "prometheus" joins them when its port is set (main.ts). */
export const sinkFactories: Record<string, SinkFactory> = {
  file: (spec, env) =>
    FileSink.open(spec.path, formatters[spec.format], { ...env.file, buffer: env.buffer, events: env.events?.(spec) }),
  stdout: (spec, env) =>
    Promise.resolve(
      new StreamSink(env.stdout, formatters[spec.format], env.buffer, env.events?.(spec), env.stdoutTurns),
    ),
};

/** The refusal of `spec` because its file is written, or was, in `format`. */
function destinationTaken(spec: SinkSpec, format: FormatName): SinkError {
  return new SinkError(
    `${spec.path} is already written in ${format} format by another handler configuration; ` +
      `one file takes one format (use another file_path for ${spec.format})`,
    DESTINATION_TAKEN,
  );
}

/** Whether something is at `filePath` (a link counts, dangling or not); errors other than "missing" count as there. */
async function exists(filePath: string): Promise<boolean> {
  try {
    await lstat(filePath);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/** The built-in sink type keys. */
export const SINK_TYPES: readonly string[] = Object.keys(sinkFactories);

interface PoolEntry {
  refs: number;
  spec: SinkSpec;
  sink: Promise<Sink>;
  /** The sink once `sink` has resolved (acquireOpen hands it out without a promise). */
  opened: Sink | undefined;
}

/**
 * Reference-counted sinks by spec. acquire() opens on first use; release()
 * closes (after flushing) when the last user lets go. A failed open is not
 * remembered, so the next call tries again (a volume may appear later).
 *
 * One file, one format: a path opened in one format is claimed by it for as
 * long as the file exists, after its sink closes too (its handler evicted),
 * so a configuration in the other format cannot append to it later and mix
 * text and JSON. A claim ends when the file is found gone (checked when the
 * other format asks) or the adapter restarts.
 */
const specKeys = new WeakMap<SinkSpec, string>();

function destinationKey(spec: SinkSpec): string {
  return `${spec.type}\u0000${spec.path}`;
}

export class SinkPool {
  private readonly entries = new Map<string, PoolEntry>();
  /** Sinks still closing, by destination: the next sink there opens after. */
  private readonly closing = new Map<string, Promise<void>>();
  /** The format each file path was opened in, by destination, while the file exists. */
  private readonly claims = new Map<string, FormatName>();
  private readonly claimLimits: PathClaimLimits;
  /** When claims of files that are gone were last looked for, and the look in progress. */
  private lastPrune = Number.NEGATIVE_INFINITY;
  private pruning: Promise<void> | undefined;
  /** Reopen failures, rate-limited; the pool's own repeat log is closed by closeAll. */
  private readonly reopenNotes: RepeatLog | undefined;
  private readonly ownNotes: boolean;
  /** The reopen running, and the one that runs after it for every call meanwhile. */
  private reopening: Promise<SinkSpec[]> | undefined;
  private reopenNext: Promise<SinkSpec[]> | undefined;

  private readonly env: SinkEnvironment;

  constructor(
    env: SinkEnvironment,
    private readonly factories: Record<string, SinkFactory> = sinkFactories,
    private readonly onCloseError: (err: unknown) => void = () => undefined,
  ) {
    // Every stdout sink this pool opens takes turns on the one stream.
    this.env = { ...env, stdoutTurns: env.stdoutTurns ?? new StreamTurns() };
    this.claimLimits = env.pathClaims ?? DEFAULT_PATH_CLAIMS;
    this.ownNotes = env.notes === undefined && env.log !== undefined;
    this.reopenNotes = env.notes ?? (env.log && createRepeatLog(env.log));
  }

  static key(spec: SinkSpec): string {
    // Every call acquires and releases its sink: build each spec's key once.
    let key = specKeys.get(spec);
    if (key === undefined) {
      key = `${spec.type}\u0000${spec.format}\u0000${spec.path}`;
      if (spec.prometheus) key += `\u0000${JSON.stringify(spec.prometheus)}`;
      specKeys.set(spec, key);
    }
    return key;
  }

  /** The sink type keys this pool can open. */
  get types(): string[] {
    return Object.keys(this.factories);
  }

  get size(): number {
    return this.entries.size;
  }

  acquire(spec: SinkSpec): Promise<Sink> {
    const key = SinkPool.key(spec);
    let entry = this.entries.get(key);
    if (!entry) {
      const factory = this.factories[spec.type];
      if (!factory) return Promise.reject(new Error(`no sink type "${spec.type}"`));
      const taken = this.writerOf(spec)?.format;
      if (taken) return Promise.reject(destinationTaken(spec, taken));
      const claim = this.claimCheck(spec);
      if (claim) return claim.then(() => this.acquire(spec));
      // One destination, one writer: wait for a sink closing there (it may still flush or rotate).
      const closing = spec.path === '' ? undefined : this.closing.get(destinationKey(spec));
      const opened = closing ? closing.then(() => factory(spec, this.env)) : factory(spec, this.env);
      const created: PoolEntry = { refs: 0, spec, sink: opened, opened: undefined };
      created.sink.then(
        (sink) => {
          created.opened = sink;
          if (spec.path !== '') this.claims.set(destinationKey(spec), spec.format);
        },
        () => {
          if (this.entries.get(key) === created) this.entries.delete(key);
        },
      );
      this.entries.set(key, created);
      entry = created;
    }
    entry.refs++;
    return entry.sink;
  }

  /**
   * acquire() for a sink already open: the sink itself, with a reference
   * taken, or undefined (nothing taken) when it is not open yet; then
   * acquire() it. Every call acquires its sink: no promise to await for the
   * open one.
   */
  acquireOpen(spec: SinkSpec): Sink | undefined {
    const entry = this.entries.get(SinkPool.key(spec));
    if (entry?.opened === undefined) return undefined;
    entry.refs++;
    return entry.opened;
  }

  /**
   * undefined when `spec` may open now as far as claims go; else what must
   * settle first: a look whether the file claimed by another format is gone
   * (rejects DESTINATION_TAKEN when it is not), or, with every claim taken, a
   * look for claimed files that are gone (rejects when none is).
   */
  private claimCheck(spec: SinkSpec): Promise<void> | undefined {
    if (spec.path === '') return undefined;
    const dest = destinationKey(spec);
    const claimed = this.claims.get(dest);
    if (claimed === spec.format) return undefined;
    if (claimed !== undefined) {
      return exists(spec.path).then((there) => {
        if (there) throw destinationTaken(spec, claimed);
        if (this.claims.get(dest) === claimed) this.claims.delete(dest);
      });
    }
    if (this.claims.size < this.claimLimits.max) return undefined;
    return this.prune().then(() => {
      if (this.claims.size >= this.claimLimits.max && !this.claims.has(dest)) {
        throw new SinkError(
          `${spec.path} not opened: this adapter keeps the format of ${this.claims.size} files that still exist, ` +
            `and ${this.claimLimits.max} is its bound (one file, one format); remove files it no longer needs or restart it`,
          DESTINATION_TAKEN,
        );
      }
    });
  }

  /** Drops the claims of files that are gone (at most once per pruneIntervalMs; calls meanwhile share it). */
  private prune(): Promise<void> {
    if (this.pruning) return this.pruning;
    if (performance.now() - this.lastPrune < this.claimLimits.pruneIntervalMs) return Promise.resolve();
    this.lastPrune = performance.now();
    const open = new Set([...this.entries.values()].map((e) => destinationKey(e.spec)));
    const candidates = [...this.claims].filter(([dest]) => !open.has(dest));
    this.pruning = (async () => {
      // A few at a time: the thread pool also serves the sinks' writes.
      for (let i = 0; i < candidates.length; i += 16) {
        const batch = candidates.slice(i, i + 16);
        const there = await Promise.all(batch.map(([dest]) => exists(dest.slice(dest.indexOf('\u0000') + 1))));
        batch.forEach(([dest, format], j) => {
          if (!there[j] && this.claims.get(dest) === format) this.claims.delete(dest);
        });
      }
    })().finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  /** Adds a reference to a sink already acquired (used by cached handlers). */
  retain(spec: SinkSpec): void {
    const entry = this.entries.get(SinkPool.key(spec));
    if (entry) entry.refs++;
  }

  release(spec: SinkSpec): void {
    const key = SinkPool.key(spec);
    const entry = this.entries.get(key);
    if (!entry || --entry.refs > 0) return;
    this.entries.delete(key);
    const closed = entry.sink.then((s) => s.close()).catch(this.onCloseError);
    if (spec.path === '') return;
    const dest = destinationKey(spec);
    this.closing.set(dest, closed);
    void closed.then(() => {
      if (this.closing.get(dest) === closed) this.closing.delete(dest);
    });
  }

  /** The open sink spec that writes `spec`'s destination in another format, if any. */
  private writerOf(spec: SinkSpec): SinkSpec | undefined {
    if (spec.path === '') return undefined;
    for (const e of this.entries.values()) {
      if (e.spec.type === spec.type && e.spec.path === spec.path && e.spec.format !== spec.format) return e.spec;
    }
    return undefined;
  }

  /** The open sinks with their specs (for metrics: buffer depth, counters). */
  async openSinks(): Promise<Array<{ spec: SinkSpec; sink: Sink }>> {
    const settled = await Promise.allSettled(
      [...this.entries.values()].map(async (e) => ({ spec: e.spec, sink: await e.sink })),
    );
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  /**
   * Reopens every sink's destination (SIGHUP after logrotate); resolves with
   * the specs reopened. A storm of calls costs at most two reopens at a time:
   * calls while one runs share the next, which starts when it ends (so each
   * call still sees a reopen that began after it). A destination that fails
   * to reopen is logged through the repeat log: once, then a count.
   */
  reopenAll(): Promise<SinkSpec[]> {
    if (!this.reopening) return this.startReopen();
    this.reopenNext ??= this.reopening.then(() => {
      this.reopenNext = undefined;
      return this.startReopen();
    });
    return this.reopenNext;
  }

  private startReopen(): Promise<SinkSpec[]> {
    const run = this.reopenOnce().finally(() => {
      if (this.reopening === run) this.reopening = undefined;
    });
    this.reopening = run;
    return run;
  }

  private async reopenOnce(): Promise<SinkSpec[]> {
    const open = await this.openSinks();
    const results = await Promise.allSettled(open.map(({ sink }) => sink.reopen()));
    const reopened: SinkSpec[] = [];
    results.forEach((r, i) => {
      const { spec } = open[i]!;
      if (r.status === 'fulfilled') reopened.push(spec);
      else if (!this.reopenNotes) this.onCloseError(r.reason);
      else {
        const where = spec.path === '' ? spec.type : `${spec.type}:${spec.path}`;
        const code = (r.reason as NodeJS.ErrnoException | undefined)?.code;
        this.reopenNotes.note('error', `reopening sink ${where} failed`, { err: r.reason, code });
      }
    });
    return reopened;
  }

  /** Flushes and closes every sink (shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    const results = await Promise.allSettled(all.map(async (e) => (await e.sink).close()));
    for (const r of results) if (r.status === 'rejected') this.onCloseError(r.reason);
    // Pending counts are written now; later reopen failures are logged one by one.
    if (this.ownNotes) this.reopenNotes?.close();
  }
}

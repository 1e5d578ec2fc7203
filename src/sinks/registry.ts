// Sink types by key, and the pool that shares one open sink per spec among
// all handler configurations and calls that use it.
import type { Writable } from 'node:stream';
import { formatters } from '../format/index.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { DEFAULT_FILE_SINK_OPTIONS, FileSink, type FileSinkOptions } from './file.js';
import { DESTINATION_TAKEN, SinkError, type Sink, type SinkSpec } from './sink.js';
import { StreamSink } from './stdout.js';

export interface SinkEnvironment {
  /** Where "stdout" sinks write; process.stdout outside tests. */
  stdout: Writable;
  /** Buffer bounds of every sink. */
  buffer: BufferLimits;
  /** fsync and rotation of file sinks. */
  file: Omit<FileSinkOptions, 'buffer'>;
  /** Writer events of the sink opened for `spec` (metrics). */
  events?: (spec: SinkSpec) => WriterEvents;
}

export const DEFAULT_SINK_ENVIRONMENT: Omit<SinkEnvironment, 'stdout'> = {
  buffer: UNBOUNDED,
  file: DEFAULT_FILE_SINK_OPTIONS,
};

/** Opens a sink; may reject (SinkError) so a bad destination fails on its first call. */
export type SinkFactory = (spec: SinkSpec, env: SinkEnvironment) => Promise<Sink>;

export const sinkFactories: Record<string, SinkFactory> = {
  file: (spec, env) =>
    FileSink.open(spec.path, formatters[spec.format], { ...env.file, buffer: env.buffer, events: env.events?.(spec) }),
  stdout: (spec, env) =>
    Promise.resolve(new StreamSink(env.stdout, formatters[spec.format], env.buffer, env.events?.(spec))),
};

/** The built-in sink type keys. */
export const SINK_TYPES: readonly string[] = Object.keys(sinkFactories);

interface PoolEntry {
  refs: number;
  spec: SinkSpec;
  sink: Promise<Sink>;
}

/**
 * Reference-counted sinks by spec. acquire() opens on first use; release()
 * closes (after flushing) when the last user lets go. A failed open is not
 * remembered, so the next call tries again (a volume may appear later).
 */
const specKeys = new WeakMap<SinkSpec, string>();

function destinationKey(spec: SinkSpec): string {
  return `${spec.type}\u0000${spec.path}`;
}

export class SinkPool {
  private readonly entries = new Map<string, PoolEntry>();
  /** Sinks still closing, by destination: the next sink there opens after. */
  private readonly closing = new Map<string, Promise<void>>();

  constructor(
    private readonly env: SinkEnvironment,
    private readonly factories: Record<string, SinkFactory> = sinkFactories,
    private readonly onCloseError: (err: unknown) => void = () => undefined,
  ) {}

  static key(spec: SinkSpec): string {
    // Every call acquires and releases its sink: build each spec's key once.
    let key = specKeys.get(spec);
    if (key === undefined) {
      key = `${spec.type}\u0000${spec.format}\u0000${spec.path}`;
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
      const taken = this.writerOf(spec);
      if (taken) {
        return Promise.reject(
          new SinkError(
            `${spec.path} is already written in ${taken.format} format by another handler configuration; ` +
              `one file takes one format (use another file_path for ${spec.format})`,
            DESTINATION_TAKEN,
          ),
        );
      }
      // One destination, one writer: wait for a sink closing there (it may still flush or rotate).
      const closing = spec.path === '' ? undefined : this.closing.get(destinationKey(spec));
      const opened = closing ? closing.then(() => factory(spec, this.env)) : factory(spec, this.env);
      const created: PoolEntry = { refs: 0, spec, sink: opened };
      created.sink.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      this.entries.set(key, created);
      entry = created;
    }
    entry.refs++;
    return entry.sink;
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

  /** Reopens every sink's destination (SIGHUP after logrotate); resolves with the specs reopened. */
  async reopenAll(): Promise<SinkSpec[]> {
    const open = await this.openSinks();
    const results = await Promise.allSettled(open.map(({ sink }) => sink.reopen()));
    const reopened: SinkSpec[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.onCloseError(r.reason);
      else reopened.push(open[i]!.spec);
    });
    return reopened;
  }

  /** Flushes and closes every sink (shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    const results = await Promise.allSettled(all.map(async (e) => (await e.sink).close()));
    for (const r of results) if (r.status === 'rejected') this.onCloseError(r.reason);
  }
}

import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdapterRecord, MetricRecord } from '../src/record/types.js';
import { BatchingWriter, BufferFullError, SharedBytes } from '../src/sinks/batching-writer.js';
import { FileSink } from '../src/sinks/file.js';
import { DEFAULT_SINK_ENVIRONMENT, SinkPool, type SinkFactory } from '../src/sinks/registry.js';
import { DESTINATION_TAKEN, SinkClosedError, type Sink, type SinkSpec } from '../src/sinks/sink.js';
import { StreamSink, StreamTurns } from '../src/sinks/stdout.js';
import { MemorySink, memorySinkControl } from '../src/sinks/memory.js';
import { estimatedRecordBytes } from '../src/record/size.js';
import { waitFor } from './helpers/wait.js';

const ENV = { stdout: process.stdout, ...DEFAULT_SINK_ENVIRONMENT };

const names = (records: readonly AdapterRecord[]) => records.map((r) => r.instance).join(',') + '\n';

function record(instance: string): MetricRecord {
  return {
    template: 'metric',
    instance,
    dedupId: '1',
    receivedAt: '2026-01-01T00:00:00.000Z',
    config: {
      filePath: '',
      authKey: '',
      format: '',
      validDuration: '0s',
      validUseCount: 0,
      denyValidDuration: '0s',
      denyValidUseCount: 0,
      sink: 'stdout',
    },
    value: 1,
    valueKind: 'INT64',
    dimensions: { values: {}, kinds: {} },
    monitoredResourceType: '',
    monitoredResourceDimensions: { values: {}, kinds: {} },
  };
}

/** A stream whose writes complete only when the test says so. */
class GatedStream extends Writable {
  written: string[] = [];
  pending: Array<() => void> = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error) => void): void {
    this.pending.push(() => {
      this.written.push(chunk.toString());
      cb();
    });
  }
  release(): void {
    const all = this.pending;
    this.pending = [];
    for (const f of all) f();
  }
}

/** Waits until a group begun by writes made before it has been handed to the destination. */
function groupStarted(): Promise<void> {
  // The writer queues a chunk at once and starts its group on a setImmediate
  // (a waiter admitted later, on the one after): two turns of the loop cover both.
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

describe('BatchingWriter', () => {
  it('writes the chunks of one event-loop turn together, and those that queue during a write in the next', async () => {
    const groups: string[][] = [];
    let finish: (() => void) | undefined;
    const w = new BatchingWriter(async (chunks) => {
      groups.push(chunks.map(String));
      if (groups.length === 1) await new Promise<void>((r) => (finish = r));
    });
    const sameTurn = [w.write(Buffer.from('a')), w.write(Buffer.from('b'))];
    await groupStarted();
    expect(groups).toEqual([['a', 'b']]);
    const duringWrite = [w.write(Buffer.from('c')), w.write(Buffer.from('d'))];
    await groupStarted();
    expect(groups).toEqual([['a', 'b']]);
    finish!();
    await Promise.all([...sameTurn, ...duringWrite]);
    expect(groups).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it("groups a turn's chunks even when the destination completes at once (stdout on a file)", async () => {
    const groups: number[] = [];
    const w = new BatchingWriter((chunks) => {
      groups.push(chunks.length);
      return Promise.resolve();
    });
    await Promise.all(Array.from({ length: 64 }, (_, i) => w.write(Buffer.from(String(i)))));
    expect(groups).toEqual([64]);
  });

  it('drops a chunk whose caller gave up before a write took it, and writes the rest', async () => {
    const groups: string[][] = [];
    let finish: (() => void) | undefined;
    const w = new BatchingWriter(async (chunks) => {
      groups.push(chunks.map(String));
      if (groups.length === 1) await new Promise<void>((r) => (finish = r));
    });
    const first = w.write(Buffer.from('a'));
    await groupStarted();
    const gaveUp = new AbortController();
    const dropped = w.write(Buffer.from('b'), gaveUp.signal);
    const kept = w.write(Buffer.from('c'));
    gaveUp.abort(new Error('deadline passed'));
    finish!();
    await expect(dropped).rejects.toThrow('deadline passed');
    await Promise.all([first, kept]);
    expect(groups).toEqual([['a'], ['c']]);
    expect(w.bufferedBytes).toBe(0);
  });

  it('lets a caller waiting for room give up without counting a refusal', async () => {
    let finish: (() => void) | undefined;
    const w = new BatchingWriter(() => new Promise<void>((r) => (finish = r)), { maxBytes: 1, maxWaitMs: 50 });
    const first = w.write(Buffer.from('a'));
    await groupStarted();
    const gaveUp = new AbortController();
    const waiting = w.write(Buffer.from('b'), gaveUp.signal);
    gaveUp.abort(new Error('deadline passed'));
    await expect(waiting).rejects.toThrow('deadline passed');
    expect(w.counters.refusedChunks).toBe(0);
    finish!();
    await first;
  });

  it('rejects every chunk of a failed group and goes on with the next', async () => {
    let calls = 0;
    const w = new BatchingWriter(() => (++calls === 1 ? Promise.reject(new Error('disk full')) : Promise.resolve()));
    await expect(w.write(Buffer.from('a'))).rejects.toThrow('disk full');
    await expect(w.write(Buffer.from('b'))).resolves.toBeUndefined();
  });
});

describe('BatchingWriter with a bound shared by several writers', () => {
  /** A writer whose writes wait until `open()`; the shared bound is 10 bytes, each writer's own 6. */
  function stalled(shared: SharedBytes) {
    let open: () => void = () => undefined;
    let gate = new Promise<void>((r) => (open = r));
    const writer = new BatchingWriter(
      async () => {
        await gate;
        gate = Promise.resolve();
      },
      { maxBytes: 6, maxWaitMs: 200, shared },
    );
    return { writer, open: () => open() };
  }

  it('a stalled writer holds at most its own bound; the others get the rest of the shared one', async () => {
    const shared = new SharedBytes(10);
    const a = stalled(shared);
    const b = stalled(shared);
    const held = [a.writer.write(Buffer.alloc(3)), a.writer.write(Buffer.alloc(3))];
    await groupStarted();
    // a is at its own 6 bytes: a seventh waits, then is refused.
    await expect(a.writer.write(Buffer.alloc(1))).rejects.toThrow(BufferFullError);
    // b fits its 4 bytes under the shared 10.
    const bWrites = [b.writer.write(Buffer.alloc(4))];
    await groupStarted();
    expect(shared.usedBytes).toBe(10);
    // A fifth byte for b waits for room in the shared bound, which a frees.
    const waiting = b.writer.write(Buffer.alloc(1));
    a.open();
    await Promise.all(held);
    b.open();
    await Promise.all([...bWrites, waiting]);
    await b.writer.flush();
    expect(shared.usedBytes).toBe(0);
    expect(b.writer.counters.refusedChunks).toBe(0);
  });

  it('refuses after the wait when the others never free their bytes, naming both bounds', async () => {
    const shared = new SharedBytes(10);
    const a = stalled(shared);
    const b = stalled(shared);
    const held = [a.writer.write(Buffer.alloc(6))];
    const bHeld = [b.writer.write(Buffer.alloc(4))];
    await groupStarted();
    await expect(b.writer.write(Buffer.alloc(1))).rejects.toThrow(
      /sink buffer full \(4 of 6 bytes queued, 10 of 10 over all sinks\) for 200 ms/,
    );
    a.open();
    b.open();
    await Promise.all([...held, ...bHeld]);
    expect(shared.usedBytes).toBe(0);
  });
});

describe('StreamSink', () => {
  it('resolves a write only when the stream has taken it, one write outstanding at a time', async () => {
    const stream = new GatedStream({ highWaterMark: 1 });
    const sink = new StreamSink(stream, names);
    let firstDone = false;
    const first = sink.write([record('a')]).then(() => (firstDone = true));
    await groupStarted();
    expect(stream.pending).toHaveLength(1);
    const second = sink.write([record('b')]);
    await groupStarted();
    expect(firstDone).toBe(false);
    expect(stream.pending).toHaveLength(1);
    stream.release();
    await first;
    await groupStarted();
    expect(stream.pending).toHaveLength(1);
    stream.release();
    await second;
    expect(stream.written).toEqual(['a\n', 'b\n']);
  });

  it('does not hand the stream records whose caller gave up while another sink on it was writing', async () => {
    // Two handler configurations on stdout, text and json: two sinks, one stream.
    const stream = new GatedStream({ highWaterMark: 1 << 20 });
    const turns = new StreamTurns(); // the pool gives its stdout sinks one
    const text = new StreamSink(stream, names, undefined, undefined, turns);
    const json = new StreamSink(
      stream,
      (records) => JSON.stringify(records.map((r) => r.instance)) + '\n',
      undefined,
      undefined,
      turns,
    );
    const first = text.write([record('first')]);
    await groupStarted();
    expect(stream.pending).toHaveLength(1); // in the stream's hands: it cannot be taken back
    const gaveUp = new AbortController();
    const second = json.write([record('second')], gaveUp.signal);
    const kept = json.write([record('kept')], new AbortController().signal);
    await groupStarted();
    gaveUp.abort(new Error('deadline')); // the call was answered DEADLINE_EXCEEDED
    stream.release();
    await first;
    await waitFor(() => stream.pending.length === 1, 5_000);
    stream.release();
    await Promise.allSettled([second, kept]);
    await waitFor(() => stream.written.length === 2 && stream.pending.length === 0, 5_000);
    expect(stream.written).toEqual(['first\n', '["kept"]\n']);
    // What was not written is not counted as written.
    expect(json.counters.bytesWritten).toBe('["kept"]\n'.length);
  });

  it('refuses writes after close with SinkClosedError', async () => {
    const stream = new GatedStream();
    const sink = new StreamSink(stream, names);
    await sink.close();
    await sink.close();
    await expect(sink.write([record('a')])).rejects.toBeInstanceOf(SinkClosedError);
  });

  it('turns a stream error into a rejected write instead of a crash', async () => {
    const stream = new Writable({ write: (_c, _e, cb) => cb(new Error('EPIPE')) });
    const sink = new StreamSink(stream, names);
    await expect(sink.write([record('a')])).rejects.toThrow(/cannot write to stdout: EPIPE/);
  });
});

describe('FileSink', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'sink-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('appends, flushes on close, then refuses writes', async () => {
    const file = path.join(dir, 'out.txt');
    const sink = await FileSink.open(file, names);
    await Promise.all([sink.write([record('a'), record('b')]), sink.write([record('c')])]);
    await sink.close();
    expect(await readFile(file, 'utf8')).toBe('a,b\nc\n');
    await expect(sink.write([record('d')])).rejects.toBeInstanceOf(SinkClosedError);
  });

  it('fails to open a path in a missing folder with the errno code', async () => {
    await expect(FileSink.open(path.join(dir, 'no/such/out.txt'), names)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('SinkPool', () => {
  const spec: SinkSpec = { type: 'memory', path: '', format: 'text' };

  function countingFactory(): { factory: SinkFactory; opened: number; closed: number } {
    const state = {
      opened: 0,
      closed: 0,
      factory: (() => {
        state.opened++;
        const sink: Sink = {
          write: () => Promise.resolve(),
          acceptsEncoded: false,
          writeEncoded: () => Promise.resolve(),
          flush: () => Promise.resolve(),
          reopen: () => Promise.resolve(),
          bufferedBytes: 0,
          counters: { bytesWritten: 0, groupsWritten: 0, failedChunks: 0, refusedChunks: 0 },
          close: () => {
            state.closed++;
            return Promise.resolve();
          },
        };
        return Promise.resolve(sink);
      }) as SinkFactory,
    };
    return state;
  }

  it('shares one sink per spec and closes it when the last reference goes', async () => {
    const c = countingFactory();
    const pool = new SinkPool(ENV, { memory: c.factory });
    const a = await pool.acquire(spec);
    const b = await pool.acquire(spec);
    expect(a).toBe(b);
    expect(c.opened).toBe(1);
    pool.release(spec);
    expect(c.closed).toBe(0);
    pool.release(spec);
    await new Promise((r) => setImmediate(r));
    expect(c.closed).toBe(1);
    expect(pool.size).toBe(0);
  });

  it('forgets a failed open so the next acquire tries again', async () => {
    let attempts = 0;
    const pool = new SinkPool(ENV, {
      memory: () => (++attempts === 1 ? Promise.reject(new Error('not yet')) : countingFactory().factory(spec, ENV)),
    });
    await expect(pool.acquire(spec)).rejects.toThrow('not yet');
    await new Promise((r) => setImmediate(r));
    await expect(pool.acquire(spec)).resolves.toBeDefined();
    expect(attempts).toBe(2);
  });

  it('keeps each file path to its format while the file exists, up to a bound of paths', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'claims-'));
    try {
      const pool = new SinkPool({ ...ENV, pathClaims: { max: 2, pruneIntervalMs: 0 } });
      const file = (name: string, format: 'text' | 'json' = 'text'): SinkSpec => ({
        type: 'file',
        path: path.join(dir, name),
        format,
      });
      const use = async (s: SinkSpec) => {
        await pool.acquire(s);
        pool.release(s);
        await pool.closeAll(); // nothing stays open: only the claims remain
      };
      await use(file('a.txt'));
      await use(file('b.txt'));
      await expect(pool.acquire(file('a.txt', 'json'))).rejects.toMatchObject({
        code: DESTINATION_TAKEN,
        message: expect.stringContaining('already written in text format') as unknown,
      });
      await use(file('a.txt')); // its own format
      await expect(pool.acquire(file('c.txt'))).rejects.toMatchObject({
        code: DESTINATION_TAKEN,
        message: expect.stringContaining('keeps the format of 2 files that still exist, and 2 is its bound') as unknown,
      });
      await unlink(path.join(dir, 'b.txt'));
      await use(file('c.txt')); // b.txt is gone: its claim made room
      await expect(pool.acquire(file('b.txt'))).rejects.toMatchObject({ code: DESTINATION_TAKEN });
      await unlink(path.join(dir, 'a.txt'));
      await use(file('a.txt', 'json')); // gone, so either format may take the path
      await expect(pool.acquire(file('a.txt'))).rejects.toThrow('already written in json format');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('coalesces a storm of reopens: one running, one more for every call made meanwhile', async () => {
    let reopens = 0;
    let finish: (() => void) | undefined;
    const factory: SinkFactory = async (s, env) => {
      const sink = await countingFactory().factory(s, env);
      sink.reopen = () => {
        reopens++;
        return new Promise<void>((resolve) => (finish = resolve));
      };
      return sink;
    };
    const pool = new SinkPool(ENV, { memory: factory });
    await pool.acquire(spec);
    const first = pool.reopenAll();
    await waitFor(() => reopens === 1);
    const storm = Array.from({ length: 100 }, () => pool.reopenAll());
    finish!();
    expect(await first).toEqual([spec]);
    await waitFor(() => reopens === 2);
    finish!();
    for (const done of await Promise.all(storm)) expect(done).toEqual([spec]);
    expect(reopens).toBe(2);
    // The storm is over: the next call reopens again.
    const later = pool.reopenAll();
    await waitFor(() => reopens === 3);
    finish!();
    await later;
  });

  it('logs a destination that fails to reopen once, then counts the repeats', async () => {
    const logged: Array<{ msg: string; count?: number; code?: string }> = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n')) if (l) logged.push(JSON.parse(l) as (typeof logged)[number]);
          done();
        },
      }),
    );
    const failing: SinkFactory = async (s, env) => {
      const sink = await countingFactory().factory(s, env);
      sink.reopen = () => Promise.reject(Object.assign(new Error('EISDIR: is a folder'), { code: 'EISDIR' }));
      return sink;
    };
    const closeErrors: unknown[] = [];
    const pool = new SinkPool({ ...ENV, log }, { memory: failing }, (err) => closeErrors.push(err));
    await pool.acquire({ ...spec, path: '/var/log/x.txt' });
    for (let i = 0; i < 50; i++) expect(await pool.reopenAll()).toEqual([]);
    await pool.closeAll(); // writes the pending count
    await waitFor(() => logged.length === 2);
    expect(logged.map((l) => [l.msg, l.count, l.code])).toEqual([
      ['reopening sink memory:/var/log/x.txt failed', undefined, 'EISDIR'],
      ['reopening sink memory:/var/log/x.txt failed (repeated)', 49, 'EISDIR'],
    ]);
    expect(closeErrors).toEqual([]);
  });

  it('closeAll closes every open sink', async () => {
    const c = countingFactory();
    const pool = new SinkPool(ENV, { memory: c.factory });
    await pool.acquire(spec);
    await pool.acquire({ ...spec, path: 'other' });
    await pool.closeAll();
    expect(c.closed).toBe(2);
  });
});

describe('sinks that take records', () => {
  it('hand a plug-in and the memory sink the records themselves, counted against the buffer by their JSON size', async () => {
    const one = record('a');
    const control = memorySinkControl();
    const sink = new MemorySink(control, { maxBytes: 10 * 1024, maxWaitMs: 50 });
    await sink.write([one]);
    expect(control.records[0]).toBe(one);
    const json = JSON.stringify([one]).length;
    const estimate = estimatedRecordBytes([one]);
    expect(estimate).toBeGreaterThan(json * 0.7);
    expect(estimate).toBeLessThan(json * 1.5);
    // A group larger than the bound still goes alone into an empty buffer; a second waits and is refused.
    control.delayMs = 200;
    const big = Array.from({ length: 200 }, (_, i) => record(`r${i}`));
    const first = sink.write(big);
    await expect(sink.write([one])).rejects.toThrow(/sink buffer full/);
    await first;
  });
});

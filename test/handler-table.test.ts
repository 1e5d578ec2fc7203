import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/common/errors.js';
import { HandlerTable, type Handler } from '../src/core/handler-table.js';
import { DEFAULT_MAX_PARAMS_BYTES } from '../src/core/params/params.js';
import { DEFAULT_SINK_ENVIRONMENT, sinkFactories, SinkPool } from '../src/sinks/registry.js';
import { paramsAny } from './helpers/clients.js';

const ENV = { stdout: process.stdout, ...DEFAULT_SINK_ENVIRONMENT };

describe('HandlerTable', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'handlers-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('decodes each configuration once and returns the same handler for the same bytes', () => {
    const table = new HandlerTable(new SinkPool(ENV), {
      defaultFormat: 'text',
      baseDir: dir,
      maxEntries: 4,
    });
    const a = table.resolve(paramsAny({ file_path: 'a.txt' }));
    expect(table.resolve(paramsAny({ file_path: 'a.txt' }))).toBe(a);
    expect(a.sinkSpec).toEqual({ type: 'file', path: path.join(dir, 'a.txt'), format: 'text' });
    expect(table.resolve(null).sinkSpec).toEqual({ type: 'stdout', path: '', format: 'text' });
  });

  it('knows a recent configuration by its bytes, and decodes one evicted meanwhile again', () => {
    const table = new HandlerTable(new SinkPool(ENV), { defaultFormat: 'text', baseDir: dir, maxEntries: 1 });
    const a = table.resolve(paramsAny({ file_path: 'a.txt' }));
    const sameBytesElsewhere = paramsAny({ file_path: 'a.txt' });
    expect(table.resolve(sameBytesElsewhere)).toBe(a);
    const b = table.resolve(paramsAny({ file_path: 'b.txt' }));
    expect(b.sinkSpec.path).toBe(path.join(dir, 'b.txt'));
    const again = table.resolve(paramsAny({ file_path: 'a.txt' }));
    expect(again).not.toBe(a);
    expect(again.sinkSpec).toEqual(a.sinkSpec);
    expect(table.size).toBe(1);
    expect(table.resolve(paramsAny({ file_path: 'c.txt' })).sinkSpec.path).toBe(path.join(dir, 'c.txt'));
  });

  it('is bounded: an evicted configuration flushes and closes its sink', async () => {
    const pool = new SinkPool(ENV);
    const table = new HandlerTable(pool, { defaultFormat: 'json', baseDir: dir, maxEntries: 1 });
    const a = table.resolve(paramsAny({ file_path: 'a.txt' }));
    await table.withSink(a, (sink) => sink.write([]));
    expect(pool.size).toBe(1);
    const b = table.resolve(paramsAny({ file_path: 'b.txt' }));
    expect(table.size).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
    await table.withSink(b, () => Promise.resolve());
    expect(pool.size).toBe(1);
    table.clear();
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
    await expect(readFile(path.join(dir, 'a.txt'), 'utf8')).resolves.toBe('');
  });

  it('does not cache invalid Params', () => {
    const table = new HandlerTable(new SinkPool(ENV), {
      defaultFormat: 'text',
      baseDir: dir,
      maxEntries: 4,
    });
    expect(() => table.resolve(paramsAny({ format: 'xml' }))).toThrow(/format/);
    expect(table.size).toBe(0);
  });

  it('does not cache a file_path outside the data dir', () => {
    const table = new HandlerTable(new SinkPool(ENV), {
      defaultFormat: 'text',
      baseDir: dir,
      maxEntries: 4,
    });
    expect(() => table.resolve(paramsAny({ file_path: '../escape.txt' }))).toThrow(InvalidInputError);
    expect(table.size).toBe(0);
  });

  it('keys the cache by a keyed digest of fixed size that shows nothing of the Params', () => {
    const secret = 'secret-auth-key-' + 'x'.repeat(10_000);
    const any = paramsAny({ file_path: 'a.txt', auth_key: secret });
    const table = new HandlerTable(new SinkPool(ENV), { defaultFormat: 'text', baseDir: dir, maxEntries: 16 });
    const a = table.resolve(any);
    expect(a.key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(a.key).not.toContain('secret');
    expect(a.key).not.toBe(createHash('sha256').update(any.value).digest('base64'));
    // Same bytes in another buffer: the same handler, found by the digest.
    for (let i = 0; i < 5; i++) table.resolve(paramsAny({ file_path: `other-${i}.txt` })); // past the recent few
    expect(table.resolve(paramsAny({ file_path: 'a.txt', auth_key: secret }))).toBe(a);
    // Another table (another process) draws another digest key.
    const other = new HandlerTable(new SinkPool(ENV), { defaultFormat: 'text', baseDir: dir, maxEntries: 4 });
    expect(other.resolve(any).key).not.toBe(a.key);
  });

  it('refuses Params over the size bound naming it, before decoding, and caches nothing', () => {
    const refused: unknown[] = [];
    const table = new HandlerTable(
      new SinkPool(ENV),
      { defaultFormat: 'text', baseDir: dir, maxEntries: 4, maxParamsBytes: 100 },
      { refused: (err) => refused.push(err) },
    );
    const over = paramsAny({ sink: 'stdout', auth_key: 'k'.repeat(95) });
    expect(over.value.length).toBe(105);
    expect(() => table.resolve(over)).toThrow(
      new InvalidInputError('adapter_config: 105 bytes is more than the 100 a handler configuration may hold'),
    );
    // Checked before anything else: even bytes that do not decode get this answer.
    expect(() => table.resolve({ type_url: over.type_url, value: Buffer.alloc(101, 0xff) })).toThrow(
      /101 bytes is more than the 100/,
    );
    expect(refused).toHaveLength(2);
    expect(table.size).toBe(0);
    expect(table.resolve(paramsAny({ sink: 'stdout', auth_key: 'k'.repeat(90) })).config.sink).toBe('stdout');
    // The default bound.
    const byDefault = new HandlerTable(new SinkPool(ENV), { defaultFormat: 'text', baseDir: dir, maxEntries: 4 });
    const big = paramsAny({ sink: 'stdout', auth_key: 'k'.repeat(DEFAULT_MAX_PARAMS_BYTES) });
    expect(() => byDefault.resolve(big)).toThrow(
      `adapter_config: ${big.value.length} bytes is more than the 65536 a handler configuration may hold`,
    );
  });

  it('is bounded in estimated bytes as well as entries; handlers evicted for bytes still flush and close their sinks', async () => {
    const pool = new SinkPool(ENV);
    const probe = new HandlerTable(pool, { defaultFormat: 'text', baseDir: dir, maxEntries: 100 });
    const one = probe.resolve(paramsAny({ file_path: 'probe-00.txt' })).retainedBytes;
    probe.clear();
    const evicted: Handler[] = [];
    const table = new HandlerTable(
      pool,
      { defaultFormat: 'text', baseDir: dir, maxEntries: 100, maxBytes: 3 * one },
      { evicted: (h) => evicted.push(h) },
    );
    for (let i = 0; i < 10; i++) {
      const h = table.resolve(paramsAny({ file_path: `bytes-${String(i).padStart(2, '0')}.txt` }));
      await table.withSink(h, (sink) => sink.write([]));
      expect(table.bytes).toBeLessThanOrEqual(3 * one);
    }
    expect(table.size).toBe(3);
    expect(evicted.map((h) => path.basename(h.sinkSpec.path))).toEqual(
      Array.from({ length: 7 }, (_, i) => `bytes-0${i}.txt`),
    );
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(3);
    table.clear();
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
  });

  it('counts what a handler keeps: Prometheus buckets expand far beyond their Params bytes', () => {
    const pool = new SinkPool(ENV, { ...sinkFactories, prometheus: sinkFactories.stdout! });
    const table = new HandlerTable(pool, { defaultFormat: 'text', baseDir: dir, maxEntries: 4 });
    const metrics = Array.from({ length: 50 }, (_, i) => ({
      instance_name: `m${i}.instance.istio-system`,
      kind: 'DISTRIBUTION' as const,
      buckets: { exponential_buckets: { num_finite_buckets: 199, growth_factor: 1.1, scale: 1 } },
    }));
    const any = paramsAny({ sink: 'prometheus', metrics });
    const h = table.resolve(any);
    expect(any.value.length).toBeLessThan(4096);
    // 50 metrics x 200 bounds x 8 bytes at the least.
    expect(h.retainedBytes).toBeGreaterThan(50 * 200 * 8);
    expect(table.bytes).toBe(h.retainedBytes);
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/common/errors.js';
import { HandlerTable } from '../src/core/handler-table.js';
import { DEFAULT_SINK_ENVIRONMENT, SinkPool } from '../src/sinks/registry.js';
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
});

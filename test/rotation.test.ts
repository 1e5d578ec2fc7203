// Size rotation names rotated files in the order they were made (path.1,
// path.2, ...; the highest is the newest) and renames only the current file:
// shifting path.1..path.N up on every rotation cost N renames each time (with
// --rotate-keep 1000, a fifth of the throughput).
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int } from './helpers/values.js';

let dir: string;
let t: TestAdapter | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rotation-'));
});

afterEach(async () => {
  await t?.stop();
  t = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** One call whose JSON record (about 300 bytes) makes a 200-byte file rotate before the next. */
async function report(i: number): Promise<void> {
  await t!.clients.metric({
    instances: [{ name: `r${i}`, value: int(i) }],
    adapter_config: paramsAny({ file_path: 'out.jsonl', format: 'json' }),
  });
}

const rotated = async (): Promise<string[]> =>
  (await readdir(dir))
    .filter((f) => f !== 'out.jsonl')
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));

async function inodes(): Promise<Map<number, string>> {
  const byInode = new Map<number, string>();
  for (const f of await rotated()) byInode.set((await stat(path.join(dir, f))).ino, f);
  return byInode;
}

it('keeps each rotated file under its name, numbering new ones upward, with --rotate-keep 1000', async () => {
  t = await startTestAdapter({ dataDir: dir, rotateBytes: 200, rotateKeep: 1000, logLevel: 'silent' });
  await report(0);
  let before = new Map<number, string>();
  for (let i = 1; i <= 30; i++) {
    await report(i);
    const after = await inodes();
    // Every file rotated earlier is still there under the same name.
    for (const [ino, name] of before) expect(after.get(ino)).toBe(name);
    before = after;
  }
  expect(await rotated()).toEqual(Array.from({ length: 30 }, (_, i) => `out.jsonl.${i + 1}`));
  // Oldest first: out.jsonl.1 holds the first record, the current file the last.
  expect(await readFile(path.join(dir, 'out.jsonl.1'), 'utf8')).toContain('"instance":"r0"');
  expect(await readFile(path.join(dir, 'out.jsonl'), 'utf8')).toContain('"instance":"r30"');
});

it('deletes only the oldest beyond --rotate-keep, and continues the numbering after a restart', async () => {
  // Left by an earlier run (and a stray name that is not a rotation number).
  for (const f of ['out.jsonl.1', 'out.jsonl.2', 'out.jsonl.old']) await writeFile(path.join(dir, f), `${f}\n`);
  t = await startTestAdapter({ dataDir: dir, rotateBytes: 200, rotateKeep: 3, logLevel: 'silent' });
  for (let i = 0; i < 4; i++) await report(i);
  expect((await readdir(dir)).sort()).toEqual([
    'out.jsonl',
    'out.jsonl.3',
    'out.jsonl.4',
    'out.jsonl.5',
    'out.jsonl.old',
  ]);
  expect(await readFile(path.join(dir, 'out.jsonl.3'), 'utf8')).toContain('"instance":"r0"');
  expect(await readFile(path.join(dir, 'out.jsonl'), 'utf8')).toContain('"instance":"r3"');
});

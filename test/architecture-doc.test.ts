// docs/architecture.md names the one job of every folder of src/: a folder
// added or moved without the map being told fails here.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

it('docs/architecture.md has a row for every top-level folder of src/, and none for a folder that is gone', async () => {
  const doc = await readFile(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const folders = (await readdir(path.join(ROOT, 'src'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => `src/${e.name}/`)
    .sort();
  const rows = [...doc.matchAll(/^\| `(src\/[a-z-]+\/)`/gm)].map((m) => m[1]!).sort();
  expect(rows).toEqual(folders);
});

it('every src/ path the architecture page names exists', async () => {
  const doc = await readFile(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const named = new Set([...doc.matchAll(/`((?:src\/)?[a-z-]+\/[a-z-/]*[a-z-]+\.ts)`/g)].map((m) => m[1]!));
  expect(named.size).toBeGreaterThan(10);
  const missing: string[] = [];
  for (const p of named) {
    const full = path.join(ROOT, p.startsWith('src/') ? p : path.join('src', p));
    await readFile(full).catch(() => missing.push(p));
  }
  expect(missing).toEqual([]);
});

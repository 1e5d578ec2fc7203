// src/generated must be what scripts/gen-types.mjs makes from proto/ today.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);

async function tree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = path.join(e.parentPath, e.name);
    files.set(path.relative(dir, full), await readFile(full, 'utf8'));
  }
  return files;
}

it('the committed TypeScript types match the protos', async () => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'gen-'));
  try {
    await run(process.execPath, [path.join(ROOT, 'scripts/gen-types.mjs'), out], { cwd: ROOT });
    const fresh = await tree(out);
    const committed = await tree(path.join(ROOT, 'src/generated'));
    expect([...committed.keys()].sort(), 'file list (run `npm run gen`)').toEqual([...fresh.keys()].sort());
    for (const [file, text] of fresh) expect(committed.get(file), `${file} is stale: run \`npm run gen\``).toBe(text);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 60_000);

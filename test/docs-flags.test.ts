// The docs' flag table is generated from the flag table
// (src/options/serve-flags.ts): every markdown file with the flags markers
// must hold the current table, and `npm run docs:flags` (scripts/docs-flags.mjs)
// rewrites that region of any markdown file and nothing else.
import { execFile } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAGS_END, FLAGS_START, flagsRegion, withFlagsRegion } from '../src/options/flags-doc.js';
import { SERVE_FLAGS } from '../src/options/serve-flags.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const SCRIPT = path.join(ROOT, 'scripts/docs-flags.mjs');

/** Markdown files of the checkout that have the start marker. */
async function markedFiles(dir = ROOT): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', 'coverage', '.git'].includes(e.name)) found.push(...(await markedFiles(full)));
    } else if (e.name.endsWith('.md') && (await readFile(full, 'utf8')).includes(FLAGS_START)) {
      found.push(full);
    }
  }
  return found;
}

let tmp: string;
beforeAll(async () => (tmp = await mkdtemp(path.join(os.tmpdir(), 'docs-flags-'))));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('the committed flag tables', () => {
  it('docs/configuration.md, and every other markdown file with the markers, hold the current table', async () => {
    const files = await markedFiles();
    expect(files.map((f) => path.relative(ROOT, f))).toContain(path.join('docs', 'configuration.md'));
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      const message = `${path.relative(ROOT, file)}: the flag table is stale; run npm run docs:flags`;
      expect(withFlagsRegion(text, SERVE_FLAGS), message).toBe(text);
    }
  });

  it('list every flag once, with its default and unit', () => {
    const region = flagsRegion(SERVE_FLAGS);
    const rowFlags = region.split('\n').flatMap((line) => /^\| `(?:--)?\[?([a-z-]+)/.exec(line)?.slice(1) ?? []);
    expect(rowFlags).toEqual(SERVE_FLAGS.map((f) => f.name));
    expect(region).toContain('| `--sink-wait DURATION` | `2s` (2000 ms) | how long a call waits');
    expect(region).toContain('| `--max-message-bytes SIZE` | `4Mi` (4194304 bytes) | largest request accepted |');
    expect(region).toContain('| `--decode-workers N` | spare cores, at most 2 |');
    expect(region).toContain('| `--metrics-host HOST` | `--host` |');
  });
});

describe('npm run docs:flags (scripts/docs-flags.mjs, on the built table)', () => {
  it('rewrites only the region of any markdown file, then finds nothing to change', async () => {
    const file = path.join(tmp, 'any.md');
    const before = `# Title\n\nProse before.\n\n${FLAGS_START}\nstale | table\n${FLAGS_END}\n\nProse after.\n`;
    await writeFile(file, before);
    const first = await run(process.execPath, [SCRIPT, file], { cwd: tmp });
    expect(first.stdout).toBe('any.md: flag table written\n');
    const after = await readFile(file, 'utf8');
    expect(after).toBe(`# Title\n\nProse before.\n\n${flagsRegion(SERVE_FLAGS)}\n\nProse after.\n`);
    const second = await run(process.execPath, [SCRIPT, file], { cwd: tmp });
    expect(second.stdout).toBe('any.md: up to date\n');
    expect(await readFile(file, 'utf8')).toBe(after);
  });

  it('refuses a file without the markers, changing nothing', async () => {
    const file = path.join(tmp, 'plain.md');
    await writeFile(file, '# No markers\n');
    await expect(run(process.execPath, [SCRIPT, file], { cwd: tmp })).rejects.toMatchObject({
      code: 1,
      stderr: `docs-flags: plain.md: expected one ${FLAGS_START} followed by one ${FLAGS_END}\n`,
    });
    expect(await readFile(file, 'utf8')).toBe('# No markers\n');
  });
});

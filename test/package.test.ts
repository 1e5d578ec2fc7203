// `npm pack` ships what the installed commands read at run time: the built
// CLI, proto/ (services are loaded from it), buf.yaml (how the package finds
// its root), operatorconfig/ (the `mixer` command's default --config) and
// the loopback example the README's stand-in commands use. A pack of a
// checkout that was never built builds it first (prepack).
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/tools/commands/mixer.js';
import { projectRoot } from '../src/tools/manifests/project.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);

let packed: Set<string>;

async function filesUnder(dir: string, root = ROOT): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/** The paths `npm pack --dry-run` would put in the tarball, packed from `cwd`. */
async function packList(cwd: string, ...flags: string[]): Promise<Set<string>> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', ...flags], { cwd, timeout: 120_000 });
  const [info] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  return new Set(info!.files.map((f) => f.path));
}

beforeAll(async () => {
  // dist/ exists: npm test builds before vitest runs.
  packed = await packList(ROOT, '--ignore-scripts');
}, 90_000);

describe('npm pack', () => {
  it('ships the bin and everything under dist/src, proto/ and operatorconfig/', async () => {
    const { bin } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    for (const target of Object.values(bin)) expect(packed).toContain(target);
    for (const dir of ['dist/src', 'proto', 'operatorconfig', 'examples/local']) {
      const files = await filesUnder(dir);
      expect(files.length, dir).toBeGreaterThan(0);
      for (const f of files) expect(packed, f).toContain(f);
    }
    expect(packed).toContain('buf.yaml');
  });

  it("the `mixer` command's default --config is the package's own operatorconfig/", async () => {
    // projectRoot() finds the package by buf.yaml + proto/, both packed.
    expect(projectRoot(path.join(ROOT, 'dist', 'src', 'commands'))).toBe(ROOT);
    expect(await defaultConfig()).toEqual([path.join(ROOT, 'operatorconfig')]);
    for (const f of await filesUnder('operatorconfig')) expect(packed).toContain(f);
  });

  it('leaves out tests, deploy files and sources that are not run', () => {
    for (const f of packed) expect(f).not.toMatch(/^(test|deploy|scripts|src)\//);
  });

  it('a checkout that was never built: prepack builds it, and the pack ships the bin and all of dist/src', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'pack-unbuilt-'));
    try {
      // The checkout without dist/ (nor tests or git data); node_modules shared (tsc runs from it).
      const skip = new Set(['node_modules', 'dist', '.git', 'test', 'coverage']);
      await cp(ROOT, copy, { recursive: true, filter: (src) => !skip.has(path.relative(ROOT, src)) });
      await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      const { bin } = JSON.parse(await readFile(path.join(copy, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      };
      await expect(readdir(path.join(copy, 'dist'))).rejects.toThrow(/ENOENT/);
      const fromUnbuilt = await packList(copy);
      for (const target of Object.values(bin)) expect(fromUnbuilt).toContain(target);
      const built = await filesUnder('dist/src', copy);
      expect(built.length).toBeGreaterThan(0);
      for (const f of built) expect(fromUnbuilt, f).toContain(f);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }, 150_000);
});

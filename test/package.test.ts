// `npm pack` ships what the installed commands read at run time: the built
// CLI, proto/ (services are loaded from it), buf.yaml (how the package finds
// its root), operatorconfig/ (the `mixer` command's default --config) and
// the loopback example the README's stand-in commands use.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/tools/commands/mixer.js';
import { projectRoot } from '../src/tools/manifests/project.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);

let packed: Set<string>;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

beforeAll(async () => {
  // dist/ exists: npm test builds before vitest runs.
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const [info] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  packed = new Set(info!.files.map((f) => f.path));
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
});

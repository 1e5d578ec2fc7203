// The module graph of src/ has no cycles: each folder depends only "down" the
// request path, and a cycle would be the first sign of that eroding.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const SRC = path.join(ROOT, 'src');
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Static imports between src/ modules; runtimeOnly leaves out `import type` (erased at build). */
async function graph({ runtimeOnly = false } = {}): Promise<Map<string, string[]>> {
  const edges = new Map<string, string[]>();
  for (const e of await readdir(SRC, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts') || e.parentPath.includes(`${path.sep}generated`)) continue;
    const file = path.join(e.parentPath, e.name);
    const text = await readFile(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)]
      .filter((m) => !runtimeOnly || !/^\s*(?:import|export)\s+type\s/.test(m[0]))
      // Type-only imports vanish at run time but still tie modules together: keep them.
      .map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')))
      .filter((t) => !t.includes(`${path.sep}generated${path.sep}`) && !t.endsWith('.json'));
    edges.set(file, targets);
  }
  return edges;
}

it('src/ has no circular imports', async () => {
  const edges = await graph();
  expect(edges.size).toBeGreaterThan(30);
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push(
        stack
          .slice(stack.indexOf(file))
          .concat(file)
          .map((f) => path.relative(SRC, f))
          .join(' -> '),
      );
      return;
    }
    state.set(file, 'visiting');
    stack.push(file);
    for (const next of edges.get(file) ?? []) visit(next);
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of edges.keys()) visit(file);
  expect(cycles).toEqual([]);
});

it('serving loads no other command implementation (they are imported when their command runs)', async () => {
  const edges = await graph({ runtimeOnly: true });
  const loaded = new Set<string>();
  const visit = (file: string): void => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const next of edges.get(file) ?? []) visit(next);
  };
  visit(path.join(SRC, 'bin.ts'));
  const rel = [...loaded].map((f) => path.relative(SRC, f));
  expect(rel).toContain(path.join('transport', 'server.ts'));
  expect(rel).toContain(path.join('frontends', 'mixer', 'metric-service.ts'));
  // The stand-in, linter, manifests generator and replay live under tools/.
  expect(rel.filter((f) => f.startsWith('tools' + path.sep))).toEqual([]);
  // prom-client comes with --metrics-port only (main.ts imports it then).
  expect(rel).not.toContain(path.join('observe', 'metrics.ts'));
});

it('only tools/ and the CLI reach into tools/; the request path never does', async () => {
  const edges = await graph();
  const offenders: string[] = [];
  for (const [file, targets] of edges) {
    const from = path.relative(SRC, file);
    if (from.startsWith('tools' + path.sep)) continue;
    for (const t of targets) {
      if (path.relative(SRC, t).startsWith('tools' + path.sep)) offenders.push(`${from} -> ${path.relative(SRC, t)}`);
    }
  }
  expect(offenders).toEqual([]);
});

it('the request path runs down the rooms (front-ends -> core -> sinks -> format), never back up', async () => {
  const edges = await graph({ runtimeOnly: true });
  // A room may import rooms to its right in this list, never to its left (sinks
  // format the records they are handed; common/ holds leaf helpers every room uses).
  const order = ['frontends', 'core', 'sinks', 'format', 'common'];
  const room = (f: string) => order.indexOf(path.relative(SRC, f).split(path.sep)[0]!);
  const upward: string[] = [];
  for (const [file, targets] of edges) {
    const from = room(file);
    if (from < 0) continue;
    for (const t of targets) {
      const to = room(t);
      if (to >= 0 && to < from) upward.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, t)}`);
    }
  }
  expect(upward).toEqual([]);
});

it('buf belongs to the tools: a dev dependency that nothing outside tools/ names', async () => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  expect(Object.keys(pkg.dependencies)).not.toContain('@bufbuild/buf');
  expect(Object.keys(pkg.devDependencies)).toContain('@bufbuild/buf');
  const naming: string[] = [];
  for (const file of (await graph()).keys()) {
    const rel = path.relative(SRC, file);
    if (!rel.startsWith('tools' + path.sep) && (await readFile(file, 'utf8')).includes('@bufbuild')) naming.push(rel);
  }
  expect(naming).toEqual([]);
});

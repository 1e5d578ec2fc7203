#!/usr/bin/env node
// Writes the serve command's flag table (src/options/serve-flags.ts) into the
// region between <!-- flags:start --> and <!-- flags:end --> of the markdown
// files given, or of every markdown file in the checkout that has those
// markers. Run through `npm run docs:flags`, which builds first: the table is
// read from dist/, the way the CLI reads it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { FLAGS_START, withFlagsRegion } = await import(path.join(root, 'dist/src/options/flags-doc.js'));
const { SERVE_FLAGS } = await import(path.join(root, 'dist/src/options/serve-flags.js'));

const SKIP = new Set(['node_modules', 'dist', 'coverage', '.git']);

/** Markdown files under `dir` whose text has the start marker. */
function withMarkers(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return SKIP.has(entry.name) ? [] : withMarkers(full);
    return entry.name.endsWith('.md') && readFileSync(full, 'utf8').includes(FLAGS_START) ? [full] : [];
  });
}

const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => path.resolve(f)) : withMarkers(root);
if (files.length === 0) {
  process.stderr.write(`docs-flags: no markdown file in ${root} has ${FLAGS_START}\n`);
  process.exit(1);
}
let failed = false;
for (const file of files) {
  const name = path.relative(process.cwd(), file);
  try {
    const before = readFileSync(file, 'utf8');
    const after = withFlagsRegion(before, SERVE_FLAGS);
    if (after !== before) writeFileSync(file, after);
    process.stdout.write(`${name}: ${after === before ? 'up to date' : 'flag table written'}\n`);
  } catch (err) {
    process.stderr.write(`docs-flags: ${name}: ${err.message}\n`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;

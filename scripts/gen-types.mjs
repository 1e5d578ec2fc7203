#!/usr/bin/env node
// Writes the TypeScript types of every proto/ file into src/generated (or the
// folder given as the first argument). The loader options come from the same
// JSON file the runtime loader reads, so types and runtime objects agree.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = path.join(root, 'proto');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'src/generated'));
const options = JSON.parse(readFileSync(path.join(root, 'src/wire/loader-options.json'), 'utf8'));

function protoFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return protoFiles(full);
      return entry.name.endsWith('.proto') ? [path.relative(protoDir, full)] : [];
    })
    .sort();
}

const flags = [
  ...(options.keepCase ? ['--keepCase'] : []),
  `--longs=${options.longs}`,
  `--enums=${options.enums}`,
  ...(options.defaults ? ['--defaults'] : []),
  ...(options.oneofs ? ['--oneofs'] : []),
  '--grpcLib=@grpc/grpc-js',
  '--importFileExtension=.js',
  '-I',
  protoDir,
  '-O',
  outDir,
];

rmSync(outDir, { recursive: true, force: true });
const bin = path.join(root, 'node_modules/.bin/proto-loader-gen-types');
const result = spawnSync(bin, [...flags, ...protoFiles(protoDir)], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// The generator also writes one aggregate type per .proto file, named after
// the file's base name; the metric and authorization files share a base name
// (template_handler_service.proto), so those aggregates overwrite each other.
// The per-message types in the package folders are complete: keep only them.
for (const entry of readdirSync(outDir, { withFileTypes: true })) {
  if (entry.isFile()) rmSync(path.join(outDir, entry.name));
}
// The generator records each source as an absolute path; make it relative so
// the output is the same in every checkout.
for (const file of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
  if (!file.isFile()) continue;
  const full = path.join(file.parentPath, file.name);
  const text = readFileSync(full, 'utf8');
  writeFileSync(full, text.replaceAll(protoDir + path.sep, 'proto/'));
}
const prettier = spawnSync(
  path.join(root, 'node_modules/.bin/prettier'),
  ['--log-level', 'warn', '--config', path.join(root, '.prettierrc.json'), '--write', outDir],
  {
    stdio: 'inherit',
  },
);
process.exit(prettier.status ?? 1);

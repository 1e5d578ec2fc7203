#!/usr/bin/env node
// Copies operatorconfig/*.yaml into deploy/components/envoy/operatorconfig/
// and lists exactly those files in the configMapGenerator of
// deploy/components/envoy/kustomization.yaml. Why a copy: kustomize reads
// generator files only from inside the kustomization's own folder (v2.0.3 and
// v5 alike, symlinks included), and `kubectl apply -k` has no flag to lift
// that. operatorconfig/ stays the one definition: run this after editing it
// (test/envoy-deploy.test.ts fails while the two differ).
//   node scripts/sync-operator-config.mjs
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'operatorconfig');
const component = path.join(root, 'deploy', 'components', 'envoy');
const copies = path.join(component, 'operatorconfig');
const kustomization = path.join(component, 'kustomization.yaml');

const yamlFiles = (dir) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort();

mkdirSync(copies, { recursive: true });
const wanted = yamlFiles(source);
for (const stale of yamlFiles(copies).filter((f) => !wanted.includes(f))) rmSync(path.join(copies, stale));
for (const f of wanted) copyFileSync(path.join(source, f), path.join(copies, f));

// Rewrite only the files list, keeping the kustomization's comments.
const doc = parseDocument(readFileSync(kustomization, 'utf8'));
const generators = doc.get('configMapGenerator');
const generator = generators?.items.find((g) => g.get('name') === 'mygrpcadapter-operator-config');
if (!generator) throw new Error(`${kustomization}: no configMapGenerator named mygrpcadapter-operator-config`);
generator.set('files', doc.createNode(wanted.map((f) => `operatorconfig/${f}`)));
writeFileSync(kustomization, doc.toString());
process.stdout.write(
  `sync-operator-config: ${wanted.length} files from operatorconfig/ into ${path.relative(root, copies)}/\n`,
);

// Renders deploy/ with real kustomizes: the v2.0.3 built into kubectl 1.20
// (what kubectl 1.14-1.20 embed; scripts/kubectl-1.20.sh unpacks it) and a
// current one (v5: $KUBECTL, else the kubectl on PATH; scripts/kubectl-current.sh).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cli.js';

const run = promisify(execFile);

export const DEPLOY = path.join(ROOT, 'deploy');
export const BASE_ENTRY = DEPLOY;
export const OVERLAY = path.join(DEPLOY, 'overlays', 'k8s-1.25+');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Kustomizer {
  label: string;
  kubectl: string;
}

/** Same default as scripts/kubectl-1.20.sh. */
export const KUBECTL_1_20 =
  process.env.KUBECTL_1_20 ??
  path.join(process.env.TMPDIR ?? os.tmpdir(), 'mygrpcadapter-kubectl-1.20', 'usr', 'bin', 'kubectl');

export const KUSTOMIZERS: Kustomizer[] = [
  { label: 'kubectl 1.20 (kustomize v2.0.3)', kubectl: KUBECTL_1_20 },
  { label: 'current kubectl (kustomize v5)', kubectl: process.env.KUBECTL ?? 'kubectl' },
];

export async function kustomize(dir: string, kustomizer: Kustomizer = KUSTOMIZERS[1]!): Promise<K8sObject[]> {
  if (kustomizer.kubectl === KUBECTL_1_20 && !existsSync(KUBECTL_1_20)) {
    throw new Error(`${KUBECTL_1_20} is missing: run bash scripts/kubectl-1.20.sh (.ci/run does)`);
  }
  const { stdout } = await run(kustomizer.kubectl, ['kustomize', dir], { timeout: 60_000 }).catch(
    (err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new Error(`${kustomizer.kubectl} is not on PATH: it renders deploy/`) : err;
    },
  );
  return parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject);
}

/** Objects in a stable order (kustomize v2 sorts by kind, v5 keeps the file order). */
export function sorted(objects: K8sObject[]): K8sObject[] {
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
  return [...objects].sort((a, b) => key(a).localeCompare(key(b)));
}

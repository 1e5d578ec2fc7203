// Renders deploy/ with real kustomizes: the v2.0.3 built into kubectl 1.20
// (what kubectl 1.14-1.20 embed; scripts/kubectl-1.20.sh unpacks it) and a
// current one (v5; scripts/kubectl-current.sh).
import { execFile } from 'node:child_process';
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
  /** Prints the kubectl binary's path; installs it first when missing. */
  script: string;
}

export const KUSTOMIZERS: Kustomizer[] = [
  { label: 'kubectl 1.20 (kustomize v2.0.3)', script: 'kubectl-1.20.sh' },
  { label: 'current kubectl (kustomize v5)', script: 'kubectl-current.sh' },
];

const binaries = new Map<string, Promise<string>>();

/** $KUBECTL_1_20 / $KUBECTL (test/setup/peers.ts sets them), else what the script prints (it skips work when done). */
function kubectlOf(k: Kustomizer): Promise<string> {
  const fromEnv = k.script === 'kubectl-1.20.sh' ? process.env.KUBECTL_1_20 : process.env.KUBECTL;
  if (fromEnv) return Promise.resolve(fromEnv);
  let found = binaries.get(k.script);
  if (!found) {
    found = run('bash', [path.join(ROOT, 'scripts', k.script)], { timeout: 240_000 }).then(({ stdout }) =>
      stdout.trim(),
    );
    binaries.set(k.script, found);
  }
  return found;
}

export async function kustomize(dir: string, kustomizer: Kustomizer = KUSTOMIZERS[1]!): Promise<K8sObject[]> {
  const kubectl = await kubectlOf(kustomizer);
  const { stdout } = await run(kubectl, ['kustomize', dir], { timeout: 60_000 });
  return parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject);
}

/** Objects in a stable order (kustomize v2 sorts by kind, v5 keeps the file order). */
export function sorted(objects: K8sObject[]): K8sObject[] {
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
  return [...objects].sort((a, b) => key(a).localeCompare(key(b)));
}

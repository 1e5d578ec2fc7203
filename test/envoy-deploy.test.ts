// The opt-in Envoy front-ends on Kubernetes: deploy/overlays/envoy (on
// deploy/, Kubernetes 1.13-1.24) and deploy/overlays/k8s-1.25+-envoy add the
// ConfigMap of deploy/components/envoy (operatorconfig/, copied: see its
// kustomization) and mount it as --operator-config. Rendered with kustomize
// v2.0.3 (kubectl 1.20) and v5; the ConfigMap must hold operatorconfig/ byte
// for byte, the args must parse, the mounted folder must load, and the rest
// must stay the base's. Istio's side: test/istio-config.test.ts.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { loadResources } from '../src/opconfig/load.js';
import { ROOT } from './helpers/cli.js';
import { K8S_1_13, K8S_1_18, K8S_CURRENT, validate, type SchemaSource } from './helpers/k8s-schemas.js';
import { DEPLOY, kustomize, KUSTOMIZERS, OVERLAY, sorted, type K8sObject } from './helpers/kustomize.js';

const run = promisify(execFile);

const COMPONENT = path.join(DEPLOY, 'components', 'envoy');
const ENVOY = path.join(DEPLOY, 'overlays', 'envoy');
const ENVOY_1_25 = path.join(DEPLOY, 'overlays', 'k8s-1.25+-envoy');
const OPERATORCONFIG = path.join(ROOT, 'operatorconfig');
const CONFIGMAP = 'mygrpcadapter-operator-config';
/** kustomize's generated name: the name, a dash and a 10-character content hash. */
const GENERATED = new RegExp(`^${CONFIGMAP}-[a-z0-9]{10}$`);

interface Container {
  args: string[];
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [field: string]: unknown;
}
type Deployment = K8sObject & {
  spec: { template: { spec: { containers: Container[]; volumes: Array<Record<string, unknown> & { name: string }> } } };
};
type ConfigMap = K8sObject & { data: Record<string, string>; metadata: { labels: Record<string, string> } };

let base: K8sObject[];
let overlay: K8sObject[];
let envoy: K8sObject[];
let envoy125: K8sObject[];

const temps: string[] = [];
async function temp(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'envoy-deploy-'));
  temps.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function one<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return structuredClone(found[0]) as T;
}
const deploymentOf = (objects: K8sObject[]) => one<Deployment>(objects, 'Deployment');
const configMapOf = (objects: K8sObject[]) => one<ConfigMap>(objects, 'ConfigMap');
const containerOf = (objects: K8sObject[]) => deploymentOf(objects).spec.template.spec.containers[0]!;

/** The YAML files of operatorconfig/ (or another folder) by name, as the ConfigMap must hold them. */
async function yamlFilesOf(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  return new Map(await Promise.all(names.map(async (f) => [f, await readFile(path.join(dir, f), 'utf8')] as const)));
}

/** How a rendered ConfigMap differs from the YAML files of `dir`: one line per missing, extra or changed file. */
async function drift(configMap: ConfigMap, dir: string): Promise<string[]> {
  const files = await yamlFilesOf(dir);
  const out: string[] = [];
  for (const [name, text] of files) {
    if (!(name in configMap.data)) out.push(`${name}: missing from the ConfigMap`);
    else if (configMap.data[name] !== text) out.push(`${name}: differs`);
  }
  for (const key of Object.keys(configMap.data)) if (!files.has(key)) out.push(`${key}: not in ${dir}`);
  return out;
}

/** The generated ConfigMap name made stable, to compare renders of different kustomizes (their hashes differ). */
function withoutHash(objects: K8sObject[]): K8sObject[] {
  const text = JSON.stringify(objects).replace(new RegExp(`${CONFIGMAP}-[a-z0-9]{10}`, 'g'), CONFIGMAP);
  return sorted(JSON.parse(text) as K8sObject[]);
}

/** The Deployment with the overlay's three additions taken out again. */
function withoutAdditions(d: Deployment): Deployment {
  const copy = structuredClone(d);
  const pod = copy.spec.template.spec;
  const c = pod.containers[0]!;
  c.args = c.args.filter((a) => !a.startsWith('--operator-config'));
  c.volumeMounts = c.volumeMounts.filter((m) => m.name !== 'operator-config');
  pod.volumes = pod.volumes.filter((v) => v.name !== 'operator-config');
  return copy;
}

/**
 * A ConfigMap volume as the kubelet writes it: the files in a timestamped
 * folder, `..data` pointing at it, and each key a symlink through `..data`
 * (that is how updates swap atomically).
 */
async function mountLikeKubelet(data: Record<string, string>, at: string): Promise<void> {
  const stamp = '..2026_01_01_00_00_00.000000001';
  await mkdir(path.join(at, stamp), { recursive: true });
  for (const [key, text] of Object.entries(data)) await writeFile(path.join(at, stamp, key), text);
  await symlink(stamp, path.join(at, '..data'));
  for (const key of Object.keys(data)) await symlink(path.join('..data', key), path.join(at, key));
}

beforeAll(async () => {
  [base, overlay, envoy, envoy125] = await Promise.all([
    kustomize(DEPLOY),
    kustomize(OVERLAY),
    kustomize(ENVOY),
    kustomize(ENVOY_1_25),
  ]);
}, 60_000);

describe('deploy/overlays/envoy and deploy/overlays/k8s-1.25+-envoy render', () => {
  it.each(KUSTOMIZERS)(
    'with $label as their base plus the ConfigMap, which the Deployment mounts by its generated name',
    async (kustomizer) => {
      for (const [dir, of, current] of [
        [ENVOY, base, envoy],
        [ENVOY_1_25, overlay, envoy125],
      ] as const) {
        const objects = await kustomize(dir, kustomizer);
        const configMap = configMapOf(objects);
        expect(configMap.metadata.name, dir).toMatch(GENERATED);
        expect(configMap.metadata.namespace).toBe('istio-system');
        expect(configMap.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'mygrpcadapter' });
        const volume = deploymentOf(objects).spec.template.spec.volumes.find((v) => v.name === 'operator-config');
        expect(volume, dir).toEqual({ name: 'operator-config', configMap: { name: configMap.metadata.name } });
        expect(await drift(configMap, OPERATORCONFIG), `${dir} with ${kustomizer.label}`).toEqual([]);
        // Everything else is the base's, and both kustomizes agree (but for the hash).
        const rest = (os: K8sObject[]) => sorted(os.filter((o) => o.kind !== 'ConfigMap' && o.kind !== 'Deployment'));
        expect(rest(objects)).toEqual(rest(of));
        expect(withoutAdditions(deploymentOf(objects))).toEqual(deploymentOf(of));
        expect(withoutHash(objects)).toEqual(withoutHash(current));
        expect(objects.length).toBe(of.length + 1);
      }
    },
    60_000,
  );

  it('the Deployment adds only the flag, a read-only mount and the ConfigMap volume', () => {
    for (const [objects, of] of [
      [envoy, base],
      [envoy125, overlay],
    ] as const) {
      const c = containerOf(objects);
      const mount = c.volumeMounts.find((m) => m.name === 'operator-config')!;
      expect(mount).toEqual({
        name: 'operator-config',
        mountPath: '/etc/mygrpcadapter/operator-config',
        readOnly: true,
      });
      expect(c.args).toEqual([...containerOf(of).args, `--operator-config=${mount.mountPath}`]);
      expect(c.volumeMounts).toEqual([...containerOf(of).volumeMounts, mount]);
      // Not under --data-dir (/volume), where handlers' files go.
      expect(c.volumeMounts.filter((m) => mount.mountPath.startsWith(`${m.mountPath}/`))).toEqual([]);
    }
  });

  it('the args parse, and --operator-config names the mounted folder; every other option is the base one', async () => {
    for (const [objects, of] of [
      [envoy, base],
      [envoy125, overlay],
    ] as const) {
      const c = containerOf(objects);
      const options = await adapterOptionsFromArgv(c.args);
      const mount = c.volumeMounts.find((m) => m.name === 'operator-config')!;
      expect(options.operatorConfig).toEqual([mount.mountPath]);
      const baseOptions = await adapterOptionsFromArgv(containerOf(of).args);
      expect(baseOptions.operatorConfig ?? []).toEqual([]);
      expect({ ...options, operatorConfig: undefined }).toEqual({ ...baseOptions, operatorConfig: undefined });
    }
  });

  it('the mounted folder, laid out as the kubelet writes a ConfigMap volume, loads as operatorconfig/ does', async () => {
    const mount = await temp();
    await mountLikeKubelet(configMapOf(envoy).data, mount);
    const [mounted, original] = await Promise.all([loadResources([mount]), loadResources([OPERATORCONFIG])]);
    expect(mounted.problems).toEqual([]);
    const summary = (rs: typeof mounted.resources) =>
      rs
        .map((r) => ({ file: path.basename(r.file), index: r.index, kind: r.kind, name: r.name, spec: r.spec }))
        .sort((a, b) => `${a.file}/${a.index}`.localeCompare(`${b.file}/${b.index}`));
    expect(summary(mounted.resources)).toEqual(summary(original.resources));
    expect(mounted.resources.map((r) => r.kind)).toEqual(expect.arrayContaining(['handler', 'instance', 'rule']));
  });

  it('the ConfigMap fits the 256 KiB that kubectl apply keeps of it in an annotation', () => {
    expect(JSON.stringify(configMapOf(envoy)).length).toBeLessThan(256 * 1024);
  });
});

describe('the ConfigMap cannot drift from operatorconfig/', () => {
  /** deploy/ copied into a temporary folder, so a test can change it and render it. */
  async function deployCopy(): Promise<string> {
    const dir = await temp();
    await cp(DEPLOY, path.join(dir, 'deploy'), { recursive: true });
    return dir;
  }

  it('a changed byte in the copy, or a file left out, is found in the rendered ConfigMap', async () => {
    const dir = await deployCopy();
    const copy = path.join(dir, 'deploy', 'components', 'envoy');
    const sample = path.join(copy, 'operatorconfig', 'sample_operator_config.yaml');
    await writeFile(sample, (await readFile(sample, 'utf8')).replace('auth_key: abc', 'auth_key: abd'));
    const kustomization = path.join(copy, 'kustomization.yaml');
    await writeFile(
      kustomization,
      (await readFile(kustomization, 'utf8')).replace('      - operatorconfig/metric.yaml\n', ''),
    );
    const configMap = configMapOf(await kustomize(path.join(dir, 'deploy', 'overlays', 'envoy')));
    expect((await drift(configMap, OPERATORCONFIG)).sort()).toEqual([
      'metric.yaml: missing from the ConfigMap',
      'sample_operator_config.yaml: differs',
    ]);
  }, 60_000);

  it('a file added to operatorconfig/ only is found too', async () => {
    const dir = await temp();
    await cp(OPERATORCONFIG, dir, { recursive: true });
    await writeFile(path.join(dir, 'extra.yaml'), 'apiVersion: config.istio.io/v1alpha2\n');
    expect(await drift(configMapOf(envoy), dir)).toEqual(['extra.yaml: missing from the ConfigMap']);
  });

  /** The script and what it reads, in a temporary checkout (node_modules linked for its yaml import). */
  async function checkoutCopy(): Promise<string> {
    const dir = await deployCopy();
    await cp(OPERATORCONFIG, path.join(dir, 'operatorconfig'), { recursive: true });
    await mkdir(path.join(dir, 'scripts'));
    await cp(
      path.join(ROOT, 'scripts', 'sync-operator-config.mjs'),
      path.join(dir, 'scripts', 'sync-operator-config.mjs'),
    );
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  }

  it('node scripts/sync-operator-config.mjs leaves the committed copy as it is', async () => {
    const dir = await checkoutCopy();
    await run('node', ['scripts/sync-operator-config.mjs'], { cwd: dir });
    const after = path.join(dir, 'deploy', 'components', 'envoy');
    expect(await readFile(path.join(after, 'kustomization.yaml'), 'utf8')).toBe(
      await readFile(path.join(COMPONENT, 'kustomization.yaml'), 'utf8'),
    );
    expect(await yamlFilesOf(path.join(after, 'operatorconfig'))).toEqual(await yamlFilesOf(OPERATORCONFIG));
  });

  it('after an edit, a new file and a removed one, the script brings the ConfigMap back in line', async () => {
    const dir = await checkoutCopy();
    const source = path.join(dir, 'operatorconfig');
    const sample = path.join(source, 'sample_operator_config.yaml');
    await writeFile(sample, (await readFile(sample, 'utf8')).replace('auth_key: abc', 'auth_key: changed'));
    await writeFile(path.join(source, 'extra.yaml'), await readFile(path.join(source, 'attributes.yaml'), 'utf8'));
    await rm(path.join(source, 'metric.yaml'));
    const stale = configMapOf(await kustomize(path.join(dir, 'deploy', 'overlays', 'envoy')));
    expect((await drift(stale, source)).sort()).toEqual([
      'extra.yaml: missing from the ConfigMap',
      'metric.yaml: not in ' + source,
      'sample_operator_config.yaml: differs',
    ]);
    await run('node', ['scripts/sync-operator-config.mjs'], { cwd: dir });
    const kustomization = await readFile(path.join(dir, 'deploy', 'components', 'envoy', 'kustomization.yaml'), 'utf8');
    // Only the list changed: the comments stay.
    const comments = (text: string) => text.split('\n').filter((l) => l.startsWith('#'));
    expect(comments(kustomization)).toEqual(
      comments(await readFile(path.join(COMPONENT, 'kustomization.yaml'), 'utf8')),
    );
    for (const kustomizer of KUSTOMIZERS) {
      const synced = configMapOf(await kustomize(path.join(dir, 'deploy', 'overlays', 'envoy'), kustomizer));
      expect(await drift(synced, source), kustomizer.label).toEqual([]);
      expect(synced.metadata.name).not.toBe(configMapOf(envoy).metadata.name);
    }
  }, 60_000);
});

describe('the kustomizations', () => {
  it('use only fields kustomize v2.0.3 reads, and the two overlays carry the same patch', async () => {
    const V2_FIELDS = new Set([
      'apiVersion',
      'kind',
      'namespace',
      'resources',
      'bases',
      'patchesJson6902',
      'configMapGenerator',
      'generatorOptions',
    ]);
    for (const dir of [COMPONENT, ENVOY, ENVOY_1_25]) {
      const k = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
      for (const field of Object.keys(k)) expect(V2_FIELDS, `${dir}: ${field}`).toContain(field);
    }
    const patch = (dir: string) => readFile(path.join(dir, 'deployment-operator-config.yaml'), 'utf8');
    expect(await patch(ENVOY_1_25)).toBe(await patch(ENVOY));
  });

  it('deploy/ and the other overlays stay without the ConfigMap and the flag (opt-in)', async () => {
    const others = await Promise.all(
      ['overlays/network-policy', 'overlays/k8s-1.25+-network-policy'].map((d) => kustomize(path.join(DEPLOY, d))),
    );
    for (const objects of [base, overlay, ...others]) {
      expect(objects.some((o) => o.kind === 'ConfigMap')).toBe(false);
      expect(containerOf(objects).args.some((a) => a.startsWith('--operator-config'))).toBe(false);
    }
  }, 60_000);

  it('docs/kubernetes.md names them and deploy/istio/', async () => {
    const doc = await readFile(path.join(ROOT, 'docs', 'kubernetes.md'), 'utf8');
    for (const dir of [
      COMPONENT,
      ENVOY,
      ENVOY_1_25,
      path.join(DEPLOY, 'istio', '1.9-1.12'),
      path.join(DEPLOY, 'istio', 'current'),
    ]) {
      expect(doc).toContain(path.relative(ROOT, dir));
    }
    expect(doc).toContain('node scripts/sync-operator-config.mjs');
  });
});

describe('the Envoy overlays against the Kubernetes API schemas (offline)', () => {
  function expectRejected(source: SchemaSource, valid: K8sObject[], mistakes: Array<[string, K8sObject, RegExp]>) {
    const found = validate(source, [...valid, ...mistakes.map(([, o]) => o)]);
    valid.forEach((o, i) => expect(found[i], `${source.label}: ${o.kind}`).toEqual([]));
    mistakes.forEach(([what, , complaint], i) => {
      const messages = found[valid.length + i]!;
      expect(messages.length, `${source.label} accepted ${what}`).toBeGreaterThan(0);
      expect(messages.join('\n'), what).toMatch(complaint);
    });
  }

  it('deploy/overlays/envoy validates against Kubernetes 1.13 (which lacks immutable ConfigMaps) and 1.18', () => {
    const immutable = { ...configMapOf(envoy), immutable: true };
    const typo = deploymentOf(envoy);
    const volume = typo.spec.template.spec.volumes.find((v) => v.name === 'operator-config')!;
    volume.configMap = { nmae: CONFIGMAP };
    const misspelt: [string, K8sObject, RegExp] = ['a misspelt field', typo, /'"?nmae"?' does not exist/];
    expectRejected(K8S_1_13, envoy, [misspelt, ['immutable (1.18+)', immutable, /'"?immutable"?' does not exist/]]);
    expectRejected(K8S_1_18, envoy, [misspelt]);
  }, 60_000);

  it('deploy/overlays/k8s-1.25+-envoy validates against a current Kubernetes', () => {
    const typo = deploymentOf(envoy125);
    Object.assign(typo.spec.template.spec.containers[0]!.volumeMounts.at(-1)!, { readonly: true });
    const data = { ...configMapOf(envoy125), data: { 'a.yaml': 1 } };
    expectRejected(K8S_CURRENT, envoy125, [
      ['a misspelt field', typo, /'"?readonly"?' does not exist/],
      ['data that is not text', data, /not assignable to type 'string'/],
    ]);
  }, 60_000);
});

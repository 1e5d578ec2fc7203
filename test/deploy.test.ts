// deploy/ renders with kustomize, every object passes the Kubernetes schema
// of its kind, and the names, labels, ports and targets agree with each other
// and with the handler address in operatorconfig/.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { loadResources } from '../src/opconfig/load.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');
const DEPLOY = path.join(ROOT, 'deploy');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<
  string,
  unknown
>;

/** One class per apiVersion/kind we ship; constructing it and calling validate() checks the schema. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

let objects: Obj[];
let deployment: Deployment;
let service: Service;
let headless: Service;
let hpa: HorizontalPodAutoscaler;
let pdb: PodDisruptionBudget;

function one<T>(kind: string, name: string, model: new (data: never) => T): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return new model(found[0] as never);
}

beforeAll(async () => {
  const { stdout } = await run('kubectl', ['kustomize', DEPLOY]).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new Error('kubectl is not on PATH: it renders deploy/ (kubectl kustomize)') : err;
  });
  objects = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
  deployment = one('Deployment', 'mygrpcadapter', Deployment);
  service = one('Service', 'mygrpcadapter', Service);
  headless = one('Service', 'mygrpcadapter-headless', Service);
  hpa = one('HorizontalPodAutoscaler', 'mygrpcadapter', HorizontalPodAutoscaler);
  pdb = one('PodDisruptionBudget', 'mygrpcadapter', PodDisruptionBudget);
});

describe('deploy/ schemas', () => {
  it('renders the expected objects, all in istio-system', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Deployment/mygrpcadapter',
      'HorizontalPodAutoscaler/mygrpcadapter',
      'PodDisruptionBudget/mygrpcadapter',
      'Service/mygrpcadapter',
      'Service/mygrpcadapter-headless',
      'ServiceAccount/mygrpcadapter',
    ]);
    for (const o of objects) expect(o.metadata.namespace, o.kind).toBe('istio-system');
  });

  it('every object validates against its Kubernetes schema', () => {
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check does catch a wrong field', () => {
    const bad = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as Obj & { spec: { replicas: unknown } };
    bad.spec.replicas = 'two';
    expect(() => new Deployment(bad as never).validate()).toThrow();
  });
});

describe('deploy/ consistency', () => {
  const podSpec = () => deployment.spec!.template.spec!;
  const container = () => podSpec().containers[0]!;
  const grpcPort = () => container().ports!.find((p) => p.name === 'grpc')!;

  it('the Deployment selects its own pods', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(deployment.spec!.selector.matchLabels!)) expect(labels[k]).toBe(v);
    expect(deployment.spec!.replicas).toBe(2);
  });

  it('both Services select the pods and target the grpc port 8000', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    expect(grpcPort().containerPort).toBe(8000);
    for (const svc of [service, headless]) {
      const selector = svc.spec!.selector!;
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(selector)) expect(labels[k], svc.metadata!.name).toBe(v);
      expect(svc.spec!.ports).toEqual([{ name: 'grpc', port: 8000, targetPort: 'grpc', protocol: 'TCP' }]);
    }
    expect(headless.spec!.clusterIP).toBe('None');
    expect(service.spec!.clusterIP).toBeUndefined();
  });

  it('the container listens where the probes, the Services and the scrape annotations look', async () => {
    const options = await adapterOptionsFromArgv(container().args!);
    expect(options.port).toBe(grpcPort().containerPort);
    for (const probe of [container().readinessProbe!, container().livenessProbe!]) {
      expect(probe.grpc!.port).toBe(grpcPort().containerPort);
    }
    const metricsPort = container().ports!.find((p) => p.name === 'metrics')!;
    expect(options.metricsPort).toBe(metricsPort.containerPort);
    const annotations = deployment.spec!.template.metadata!.annotations!;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe(String(metricsPort.containerPort));
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    // The Prometheus sink's series have their own port, which the sample handler needs.
    const seriesPort = container().ports!.find((p) => p.name === 'series')!;
    expect(options.prometheusPort).toBe(seriesPort.containerPort);
  });

  it('file sinks are confined to the emptyDir and shutdown fits the grace period', async () => {
    const options = await adapterOptionsFromArgv(container().args!);
    const mount = container().volumeMounts!.find((m) => m.name === 'volume')!;
    expect(options.dataDir).toBe(mount.mountPath);
    const timeout = Number(
      container()
        .args!.find((a) => a.startsWith('--shutdown-timeout='))!
        .split('=')[1],
    );
    expect(options.drainDelayMs + options.shutdownGraceMs).toBeLessThan(timeout);
    expect(timeout).toBeLessThan(podSpec().terminationGracePeriodSeconds! * 1000);
  });

  it('the HPA and the PDB target the Deployment', () => {
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mygrpcadapter' });
    expect(hpa.spec!.minReplicas).toBe(deployment.spec!.replicas);
    expect(hpa.spec!.metrics![0]!.resource!.name).toBe('cpu');
    expect(pdb.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(pdb.spec!.minAvailable).toBeLessThan(deployment.spec!.replicas!);
  });

  it('the pod is locked down and has no sidecar', () => {
    expect(deployment.spec!.template.metadata!.annotations!['sidecar.istio.io/inject']).toBe('false');
    expect(podSpec().serviceAccountName).toBe(one('ServiceAccount', 'mygrpcadapter', ServiceAccount).metadata!.name);
    expect(podSpec().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container().resources!.requests).toBeDefined();
    expect(container().resources!.limits).toBeDefined();
  });

  it('leaves the adapter more time to stop than its shutdown grace', () => {
    expect(podSpec().terminationGracePeriodSeconds! * 1000).toBeGreaterThan(DEFAULT_OPTIONS.shutdownGraceMs);
  });

  it('the sample handler dials the Service and writes under the emptyDir', async () => {
    const { resources } = await loadResources([path.join(ROOT, 'operatorconfig/sample_operator_config.yaml')]);
    const handler = resources.find((r) => r.kind === 'handler' && r.name === 'h1')!;
    const connection = handler.spec.connection as { address: string };
    const { name, namespace } = service.metadata!;
    expect(connection.address).toBe(`${name}.${namespace}.svc.cluster.local:${service.spec!.ports![0]!.port}`);
    const mount = container().volumeMounts!.find((m) => m.name === 'volume')!;
    expect(podSpec().volumes!.find((v) => v.name === mount.name)!.emptyDir).toEqual({});
    const params = handler.spec.params as { file_path: string };
    expect(params.file_path.startsWith(`${mount.mountPath}/`)).toBe(true);
  });

  it('every Kubernetes manifest in deploy/ is listed in the kustomization', async () => {
    const kustomization = (
      parseAllDocuments(await readFile(path.join(DEPLOY, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
        resources: string[];
      }
    ).resources;
    // docker-compose.yaml is for a laptop with Docker, not for the cluster.
    const notKubernetes = new Set(['kustomization.yaml', 'docker-compose.yaml']);
    const files = (await readdir(DEPLOY)).filter((f) => f.endsWith('.yaml') && !notKubernetes.has(f));
    expect([...kustomization].sort()).toEqual(files.sort());
  });
});

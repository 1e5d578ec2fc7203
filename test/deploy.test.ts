// deploy/ (the base, for Kubernetes 1.13-1.24) and deploy/overlays/k8s-1.25+
// render with kustomize v2.0.3 (kubectl 1.20) and the current one alike, and
// the names, labels, ports, probes, flags and disk budget agree with each
// other, with the adapter's options and with the handler in operatorconfig/.
// So do the opt-in overlays with the NetworkPolicy, which lets only Mixer's
// and Prometheus' pods in. Schemas per Kubernetes version: test/k8s-schemas.test.ts.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2beta1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1beta1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { loadResources } from '../src/opconfig/load.js';
import { ROOT } from './helpers/cli.js';
import { DEPLOY, kustomize, KUSTOMIZERS, OVERLAY, sorted, type K8sObject } from './helpers/kustomize.js';

let objects: K8sObject[];
let overlay: K8sObject[];
let withPolicy: K8sObject[];
let overlayWithPolicy: K8sObject[];
let policy: NetworkPolicy;

const POLICY_COMPONENT = path.join(DEPLOY, 'components', 'network-policy');
const POLICY_OVERLAY = path.join(DEPLOY, 'overlays', 'network-policy');
const POLICY_OVERLAY_1_25 = path.join(DEPLOY, 'overlays', 'k8s-1.25+-network-policy');
let deployment: Deployment;
let service: Service;
let headless: Service;
let hpa: HorizontalPodAutoscaler;
let pdb: PodDisruptionBudget;

function one<T>(from: K8sObject[], kind: string, name: string, model: new (data: never) => T): T {
  const found = from.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return new model(found[0] as never);
}

beforeAll(async () => {
  [objects, overlay] = await Promise.all([kustomize(DEPLOY), kustomize(OVERLAY)]);
  deployment = one(objects, 'Deployment', 'mygrpcadapter', Deployment);
  service = one(objects, 'Service', 'mygrpcadapter', Service);
  headless = one(objects, 'Service', 'mygrpcadapter-headless', Service);
  hpa = one(objects, 'HorizontalPodAutoscaler', 'mygrpcadapter', HorizontalPodAutoscaler);
  pdb = one(objects, 'PodDisruptionBudget', 'mygrpcadapter', PodDisruptionBudget);
}, 60_000);

describe('deploy/ renders', () => {
  it('the expected objects, all in istio-system, in the API versions Kubernetes 1.13-1.18 serve', () => {
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'apps/v1 Deployment/mygrpcadapter',
      'autoscaling/v2beta1 HorizontalPodAutoscaler/mygrpcadapter',
      'policy/v1beta1 PodDisruptionBudget/mygrpcadapter',
      'v1 Service/mygrpcadapter',
      'v1 Service/mygrpcadapter-headless',
      'v1 ServiceAccount/mygrpcadapter',
    ]);
    for (const o of objects) expect(o.metadata.namespace, o.kind).toBe('istio-system');
  });

  it.each(KUSTOMIZERS)(
    'the same objects with $label, base and overlay',
    async (kustomizer) => {
      expect(sorted(await kustomize(DEPLOY, kustomizer))).toEqual(sorted(objects));
      expect(sorted(await kustomize(OVERLAY, kustomizer))).toEqual(sorted(overlay));
    },
    60_000,
  );

  it('the kustomizations use only fields kustomize v2.0.3 reads', async () => {
    const V2_FIELDS = new Set([
      'apiVersion',
      'kind',
      'namespace',
      'resources',
      'bases',
      'images',
      'patchesStrategicMerge',
      'patchesJson6902',
      'commonLabels',
      'commonAnnotations',
    ]);
    for (const dir of [
      DEPLOY,
      path.join(DEPLOY, 'base'),
      OVERLAY,
      POLICY_COMPONENT,
      POLICY_OVERLAY,
      POLICY_OVERLAY_1_25,
    ]) {
      const k = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
      for (const field of Object.keys(k)) expect(V2_FIELDS, `${dir}: ${field}`).toContain(field);
    }
  });

  it('the overlay changes only API versions, seccomp and the readiness probe', () => {
    const byName = new Map(overlay.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    expect([...byName.keys()].sort()).toEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort());
    expect(byName.get('PodDisruptionBudget/mygrpcadapter')!.apiVersion).toBe('policy/v1');
    const newHpa = byName.get('HorizontalPodAutoscaler/mygrpcadapter') as K8sObject & {
      spec: { metrics: Array<{ resource: unknown }> };
    };
    expect(newHpa.apiVersion).toBe('autoscaling/v2');
    expect(newHpa.spec.metrics[0]!.resource).toEqual({
      name: 'cpu',
      target: { type: 'Utilization', averageUtilization: hpa.spec!.metrics![0]!.resource!.targetAverageUtilization },
    });
    const d = new Deployment(byName.get('Deployment/mygrpcadapter'));
    const pod = d.spec!.template;
    expect(pod.metadata!.annotations!['seccomp.security.alpha.kubernetes.io/pod']).toBeUndefined();
    expect(pod.spec!.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.spec!.containers[0]!.securityContext!.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(pod.spec!.containers[0]!.readinessProbe!.grpc).toEqual({ port: 8000 });
    // Everything else is the base's.
    const strip = (o: Deployment) => {
      const c = structuredClone(o.toJSON()) as unknown as {
        spec: { template: { metadata: { annotations: Record<string, string> }; spec: Record<string, never> } };
      };
      delete c.spec.template.metadata.annotations['seccomp.security.alpha.kubernetes.io/pod'];
      const spec = c.spec.template.spec as unknown as {
        securityContext: Record<string, unknown>;
        containers: Array<Record<string, unknown> & { securityContext: Record<string, unknown> }>;
      };
      delete spec.securityContext.seccompProfile;
      delete spec.containers[0]!.securityContext.seccompProfile;
      delete spec.containers[0]!.readinessProbe;
      return c;
    };
    expect(strip(d)).toEqual(strip(deployment));
  });
});

describe('deploy/ consistency', () => {
  const podSpec = () => deployment.spec!.template.spec!;
  const container = () => podSpec().containers[0]!;
  const port = (name: string) => container().ports!.find((p) => p.name === name)!;
  const options = (more: string[] = []) => adapterOptionsFromArgv([...container().args!, ...more]);
  const overlayReadiness = () =>
    one(overlay, 'Deployment', 'mygrpcadapter', Deployment).spec!.template.spec!.containers[0]!.readinessProbe!;

  it('the Deployment selects its own pods', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(deployment.spec!.selector.matchLabels!)) expect(labels[k]).toBe(v);
    expect(deployment.spec!.replicas).toBe(2);
  });

  it('both Services select the pods and target the grpc port 8000', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    expect(port('grpc').containerPort).toBe(8000);
    for (const svc of [service, headless]) {
      const selector = svc.spec!.selector!;
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(selector)) expect(labels[k], svc.metadata!.name).toBe(v);
      expect(svc.spec!.ports).toEqual([{ name: 'grpc', port: 8000, targetPort: 'grpc', protocol: 'TCP' }]);
    }
    expect(headless.spec!.clusterIP).toBe('None');
    expect(service.spec!.clusterIP).toBeUndefined();
  });

  it('probes are httpGet on the ops port, where the adapter serves /readyz and /healthz', async () => {
    const o = await options();
    expect(o.port).toBe(port('grpc').containerPort);
    expect(o.opsPort).toBe(port('ops').containerPort);
    expect(container().readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    expect(container().livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    // Readiness turns false within the drain delay: the pod leaves the endpoints while it still accepts calls.
    for (const readiness of [container().readinessProbe!, overlayReadiness()]) {
      expect(readiness.periodSeconds! * readiness.failureThreshold! * 1000).toBeLessThan(o.drainDelayMs);
    }
  });

  it('metrics are served on the ops port, where the scrape annotations look', async () => {
    const o = await options();
    expect(o.metricsPort).toBe(o.opsPort);
    const annotations = deployment.spec!.template.metadata!.annotations!;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe(String(port('ops').containerPort));
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    // The Prometheus sink's series have their own port, which the sample handler needs.
    expect(o.prometheusPort).toBe(port('series').containerPort);
  });

  it('file sinks are confined to the emptyDir and shutdown fits the grace period', async () => {
    const o = await options();
    const mount = container().volumeMounts!.find((m) => m.name === 'volume')!;
    expect(o.dataDir).toBe(mount.mountPath);
    const timeout = Number(
      container()
        .args!.find((a) => a.startsWith('--shutdown-timeout='))!
        .split('=')[1],
    );
    expect(o.drainDelayMs + o.shutdownGraceMs).toBeLessThan(timeout);
    expect(timeout).toBeLessThan(podSpec().terminationGracePeriodSeconds! * 1000);
    expect(podSpec().terminationGracePeriodSeconds! * 1000).toBeGreaterThan(DEFAULT_OPTIONS.shutdownGraceMs);
  });

  it('rotated files add up below the emptyDir sizeLimit', async () => {
    const o = await options();
    const volume = podSpec().volumes!.find((v) => v.name === 'volume')!;
    const limit = quantityBytes(String(volume.emptyDir!.sizeLimit));
    expect(o.rotateBytes).toBeGreaterThan(0);
    // A file passes --rotate-bytes only by one write into an empty file, and one write is at most
    // half the sink buffers (one sink's own bound), sized by the container's 256Mi limit.
    const limits = container().resources!.limits!;
    const sinkBuffers = (await options(['--memory-limit', String(limits.memory)])).sinkBufferBytes;
    const largestFile = Math.max(o.rotateBytes, sinkBuffers / 2);
    const perFilePath = (1 + o.rotateKeep) * largestFile;
    // The manifest's comment budgets three file paths; the sample handler uses one.
    const budgeted = Number(/Three file paths/.test(await readFile(path.join(DEPLOY, 'base/deployment.yaml'), 'utf8')));
    expect(budgeted, 'the comment in deployment.yaml states the budget').toBe(1);
    expect(3 * perFilePath).toBeLessThan(limit);
    expect(perFilePath).toBe(256 * 2 ** 20);
    expect(limit).toBe(2 ** 30);
  });

  it('Mixer connections are re-dialled, so new pods get their share', async () => {
    const o = await options();
    expect(o.maxConnectionAgeMs).toBeGreaterThanOrEqual(60_000);
    expect(o.maxConnectionAgeMs).toBeLessThanOrEqual(600_000);
  });

  it('the HPA and the PDB target the Deployment', () => {
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mygrpcadapter' });
    expect(hpa.spec!.minReplicas).toBe(deployment.spec!.replicas);
    expect(hpa.spec!.metrics![0]!.resource!.name).toBe('cpu');
    expect(pdb.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(pdb.spec!.minAvailable).toBeLessThan(deployment.spec!.replicas!);
  });

  it('the pod is locked down and has no sidecar', () => {
    const annotations = deployment.spec!.template.metadata!.annotations!;
    expect(annotations['sidecar.istio.io/inject']).toBe('false');
    expect(annotations['seccomp.security.alpha.kubernetes.io/pod']).toBe('runtime/default');
    expect(podSpec().serviceAccountName).toBe(
      one(objects, 'ServiceAccount', 'mygrpcadapter', ServiceAccount).metadata!.name,
    );
    expect(podSpec().securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container().resources!.requests).toBeDefined();
    expect(container().resources!.limits).toBeDefined();
  });

  it('the image is a placeholder that cannot be pulled by mistake, tagged with the package version', async () => {
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const image = container().image!;
    expect(image).toBe(`SET-YOUR-REGISTRY/mygrpcadapter:${version}`);
    // Upper case is not a valid image reference: the kubelet stops at InvalidImageName, naming it.
    expect(image.split(':')[0]).not.toBe(image.split(':')[0]!.toLowerCase());
    const top = (await readFile(path.join(DEPLOY, 'base/kustomization.yaml'), 'utf8')).split('\n').slice(0, 3);
    expect(top.join('\n')).toMatch(/FIRST build and push the image[\s\S]*kustomize edit set image/);
  });

  it('the sample handler dials the headless Service through dns:/// and writes under the emptyDir', async () => {
    const { resources } = await loadResources([path.join(ROOT, 'operatorconfig/sample_operator_config.yaml')]);
    const handler = resources.find((r) => r.kind === 'handler' && r.name === 'h1')!;
    const connection = handler.spec.connection as { address: string };
    const { name, namespace } = headless.metadata!;
    expect(connection.address).toBe(`dns:///${name}.${namespace}.svc.cluster.local:${headless.spec!.ports![0]!.port}`);
    const mount = container().volumeMounts!.find((m) => m.name === 'volume')!;
    const params = handler.spec.params as { file_path: string };
    expect(params.file_path.startsWith(`${mount.mountPath}/`)).toBe(true);
  });

  it('every handler in operatorconfig/ dials the same headless dns:/// address, so none stays on one replica', async () => {
    const { resources } = await loadResources([path.join(ROOT, 'operatorconfig')]);
    const handlers = resources.filter((r) => r.kind === 'handler');
    expect(handlers.map((h) => h.name).sort()).toEqual(['h1', 'hprom']);
    const { name, namespace } = headless.metadata!;
    const address = `dns:///${name}.${namespace}.svc.cluster.local:${headless.spec!.ports![0]!.port}`;
    for (const h of handlers) expect((h.spec.connection as { address: string }).address, h.file).toBe(address);
  });

  it('every Kubernetes manifest in deploy/base/ is listed in its kustomization', async () => {
    const dir = path.join(DEPLOY, 'base');
    const kustomization = (
      parseAllDocuments(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
        resources: string[];
      }
    ).resources;
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization].sort()).toEqual(files.sort());
  });
});

/** Bytes of a Kubernetes quantity such as 1Gi, 512Mi or 1G. */
function quantityBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? unit[m[2] as keyof typeof unit] : 1);
}

/** The pod labels Istio 1.4-1.6 give Mixer's and the Prometheus add-on's pods (their Helm charts and manifests). */
const ISTIO_PODS = {
  telemetry: { app: 'telemetry', istio: 'mixer', 'istio-mixer-type': 'telemetry' },
  policy: { app: 'policy', istio: 'mixer', 'istio-mixer-type': 'policy' },
  prometheus: { app: 'prometheus' },
  ingressgateway: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
  pilot: { app: 'pilot', istio: 'pilot' },
  galley: { app: 'galley', istio: 'galley' },
  'another mixer type': { istio: 'mixer', 'istio-mixer-type': 'other' },
  'a workload': { app: 'productpage', version: 'v1' },
} satisfies Record<string, Record<string, string>>;

type Selector = {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
};

/** Label selector semantics (In, NotIn, Exists, DoesNotExist), as the API server defines them. */
function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = {
      In: has && e.values!.includes(labels[e.key]!),
      NotIn: !has || !e.values!.includes(labels[e.key]!),
      Exists: has,
      DoesNotExist: !has,
    }[e.operator];
    if (ok !== true) return false;
  }
  return true;
}

/**
 * The TCP ports of the adapter's pods that a pod with `labels` in the policy's
 * own namespace may connect to, as NetworkPolicy defines it: the union over
 * the rules whose `from` admits it (no `from`: everyone; no `ports`: all).
 */
function reachable(p: NetworkPolicy, labels: Record<string, string>, ports: number[]): number[] {
  const open = new Set<number>();
  for (const rule of p.spec!.ingress ?? []) {
    const admitted =
      rule.from === undefined ||
      rule.from.some(
        (peer) =>
          peer.ipBlock === undefined && peer.namespaceSelector === undefined && selects(peer.podSelector ?? {}, labels),
      );
    if (!admitted) continue;
    for (const port of ports) {
      if (rule.ports === undefined || rule.ports.some((rp) => (rp.protocol ?? 'TCP') === 'TCP' && rp.port === port)) {
        open.add(port);
      }
    }
  }
  return [...open].sort((a, b) => a - b);
}

describe('the opt-in NetworkPolicy (deploy/components/network-policy)', () => {
  beforeAll(async () => {
    [withPolicy, overlayWithPolicy] = await Promise.all([kustomize(POLICY_OVERLAY), kustomize(POLICY_OVERLAY_1_25)]);
    policy = one(withPolicy, 'NetworkPolicy', 'mygrpcadapter', NetworkPolicy);
  }, 60_000);

  const container = () => deployment.spec!.template.spec!.containers[0]!;
  const port = (name: string) => container().ports!.find((p) => p.name === name)!.containerPort;
  const allPorts = () => container().ports!.map((p) => p.containerPort);

  it.each(KUSTOMIZERS)(
    'the overlays render with $label as their base plus the NetworkPolicy, in istio-system',
    async (kustomizer) => {
      const [a, b] = await Promise.all([
        kustomize(POLICY_OVERLAY, kustomizer),
        kustomize(POLICY_OVERLAY_1_25, kustomizer),
      ]);
      const policyObject = withPolicy.find((o) => o.kind === 'NetworkPolicy')!;
      expect(policyObject.apiVersion).toBe('networking.k8s.io/v1');
      expect(policyObject.metadata.namespace).toBe('istio-system');
      expect(sorted(a)).toEqual(sorted([...objects, policyObject]));
      expect(sorted(b)).toEqual(sorted([...overlay, policyObject]));
      expect(sorted(withPolicy)).toEqual(sorted(a));
      expect(sorted(overlayWithPolicy)).toEqual(sorted(b));
    },
    60_000,
  );

  it('deploy/ itself stays without it (opt-in)', () => {
    expect(objects.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
    expect(overlay.some((o) => o.kind === 'NetworkPolicy')).toBe(false);
  });

  it("selects the adapter's pods for ingress only, and lives in Mixer's namespace", () => {
    expect(policy.spec!.podSelector.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(selects(policy.spec!.podSelector, deployment.spec!.template.metadata!.labels!)).toBe(true);
    expect(policy.spec!.policyTypes).toEqual(['Ingress']);
    expect(policy.metadata!.namespace).toBe(deployment.metadata!.namespace);
    // Peers are pods of this namespace: no namespaceSelector (namespaces of Kubernetes 1.13-1.20 carry no name label), no ipBlock.
    for (const rule of policy.spec!.ingress!) {
      expect(rule.from, 'a rule without from admits everyone').toBeDefined();
      expect(rule.ports, 'a rule without ports opens every port').toBeDefined();
      for (const peer of rule.from!) expect(Object.keys(peer)).toEqual(['podSelector']);
    }
  });

  it('lets Mixer reach only the gRPC port, Prometheus only the metrics ports, and nobody else anything', async () => {
    const o = await adapterOptionsFromArgv(container().args!);
    expect(port('grpc')).toBe(o.port);
    expect(port('ops')).toBe(o.metricsPort);
    expect(port('series')).toBe(o.prometheusPort);
    const ports = allPorts();
    const got = Object.fromEntries(
      Object.entries(ISTIO_PODS).map(([who, labels]) => [who, reachable(policy, labels, ports)]),
    );
    expect(got).toEqual({
      telemetry: [o.port],
      policy: [o.port],
      prometheus: [o.metricsPort, o.prometheusPort],
      ingressgateway: [],
      pilot: [],
      galley: [],
      'another mixer type': [],
      'a workload': [],
    });
  });

  it('passes kubernetes-models (formats, enums, required fields)', () => {
    expect(() => policy.validate()).not.toThrow();
  });

  it('docs/kubernetes.md names its selectors, ports and overlays', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/kubernetes.md'), 'utf8');
    for (const rule of policy.spec!.ingress!) {
      for (const peer of rule.from!) {
        for (const [k, v] of Object.entries(peer.podSelector!.matchLabels ?? {})) expect(doc).toContain(`${k}: ${v}`);
        for (const e of peer.podSelector!.matchExpressions ?? []) {
          expect(doc).toContain(`${e.key} ${e.operator} (${e.values!.join(', ')})`);
        }
      }
      for (const p of rule.ports!) expect(doc).toContain(String(p.port));
    }
    for (const dir of [POLICY_COMPONENT, POLICY_OVERLAY, POLICY_OVERLAY_1_25]) {
      expect(doc).toContain(path.relative(ROOT, dir));
    }
  });
});

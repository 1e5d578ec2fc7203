// Every rendered object of deploy/ (the base) against the API of Kubernetes
// 1.13 and 1.18, and of deploy/overlays/k8s-1.25+ against a current one,
// offline (test/helpers/k8s-schemas.ts says how); the same for the opt-in
// overlays that add the NetworkPolicy. The negative cases prove a field or API
// version that a target lacks fails the check.
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { K8S_1_13, K8S_1_18, K8S_CURRENT, validate, type SchemaSource } from './helpers/k8s-schemas.js';
import { DEPLOY, kustomize, OVERLAY, type K8sObject } from './helpers/kustomize.js';

let base: K8sObject[];
let overlay: K8sObject[];
let baseWithPolicy: K8sObject[];
let overlayWithPolicy: K8sObject[];

beforeAll(async () => {
  [base, overlay] = await Promise.all([kustomize(DEPLOY), kustomize(OVERLAY)]);
}, 60_000);

const name = (o: K8sObject) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`;

function find(objects: K8sObject[], kind: string): K8sObject {
  return structuredClone(objects.find((o) => o.kind === kind)!);
}

/** Sets a value at a dotted path (numeric parts index arrays), creating objects on the way. */
function set(o: K8sObject, dotted: string, value: unknown): K8sObject {
  const parts = dotted.split('.');
  let at = o as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
  return o;
}

const CONTAINER = 'spec.template.spec.containers.0';

/** Objects each target must reject, with what the complaint must name. */
function oldClusterMistakes(): Array<[string, K8sObject, RegExp]> {
  const deployment = () => find(base, 'Deployment');
  return [
    [
      'a native gRPC probe (1.24+)',
      set(deployment(), `${CONTAINER}.readinessProbe`, { grpc: { port: 8000 } }),
      /'"?grpc"?' does not exist/,
    ],
    [
      'the seccompProfile field (1.19+)',
      set(deployment(), 'spec.template.spec.securityContext.seccompProfile', { type: 'RuntimeDefault' }),
      /'"?seccompProfile"?' does not exist/,
    ],
    [
      'policy/v1 (1.21+)',
      { ...find(base, 'PodDisruptionBudget'), apiVersion: 'policy/v1' },
      /Policy_?v1Api|V1PodDisruptionBudget/,
    ],
    [
      'autoscaling/v2 (1.23+)',
      { ...find(base, 'HorizontalPodAutoscaler'), apiVersion: 'autoscaling/v2' },
      /Autoscaling_?[vV]2Api|V2HorizontalPodAutoscaler/,
    ],
    ['a misspelt field', set(deployment(), 'spec.replica', 2), /'"?replica"?' does not exist/],
    ['a wrong type', set(deployment(), 'spec.replicas', 'two'), /not assignable to type 'number/],
    ['an unknown kind', { ...find(base, 'Service'), kind: 'Servise' }, /V1Servise/],
  ];
}

function expectRejected(source: SchemaSource, valid: K8sObject[], mistakes: Array<[string, K8sObject, RegExp]>) {
  const found = validate(source, [...valid, ...mistakes.map(([, o]) => o)]);
  valid.forEach((o, i) => expect(found[i], `${source.label}: ${name(o)}`).toEqual([]));
  mistakes.forEach(([what, , complaint], i) => {
    const messages = found[valid.length + i]!;
    expect(messages.length, `${source.label} accepted ${what}`).toBeGreaterThan(0);
    expect(messages.join('\n'), what).toMatch(complaint);
  });
}

describe('Kubernetes API schemas (offline)', () => {
  it('the packages are the Kubernetes versions they are named after', () => {
    expect(K8S_1_13.generatedFrom()).toBe('1.13.2');
    expect(K8S_1_18.generatedFrom()).toBe('1.18.0');
    expect(K8S_CURRENT.generatedFrom()).toBe('1.30.0');
  });

  it('deploy/ validates against Kubernetes 1.13, which rejects newer fields and API versions', () => {
    expect(base.length).toBe(6);
    expectRejected(K8S_1_13, base, oldClusterMistakes());
  }, 60_000);

  it('deploy/ validates against Kubernetes 1.18, which rejects newer fields and API versions', () => {
    expectRejected(K8S_1_18, base, oldClusterMistakes());
  }, 60_000);

  it('the k8s-1.25+ overlay validates against a current Kubernetes, which rejects removed API versions', () => {
    const hpa = find(overlay, 'HorizontalPodAutoscaler') as K8sObject & {
      spec: { metrics: Array<{ resource: Record<string, unknown> }> };
    };
    hpa.spec.metrics[0]!.resource.targetAverageUtilization = 70;
    expectRejected(K8S_CURRENT, overlay, [
      ['policy/v1beta1 (removed in 1.25)', find(base, 'PodDisruptionBudget'), /policy\/v1beta1/],
      ['autoscaling/v2beta1 (removed in 1.25)', find(base, 'HorizontalPodAutoscaler'), /autoscaling\/v2beta1/],
      ['a v2beta1 field in autoscaling/v2', hpa, /'"?targetAverageUtilization"?' does not exist/],
      [
        'a misspelt field',
        set(find(overlay, 'Deployment'), `${CONTAINER}.readinesProbe`, {}),
        /'"?readinesProbe"?' does not exist/,
      ],
    ]);
  }, 60_000);

  it('the overlay also passes kubernetes-models (formats, enums, required fields of Kubernetes 1.33)', () => {
    const models: Record<string, new (data: never) => { validate(): void }> = {
      'apps/v1/Deployment': Deployment,
      'v1/Service': Service,
      'v1/ServiceAccount': ServiceAccount,
      'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
      'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    };
    for (const o of overlay) {
      const Model = models[`${o.apiVersion}/${o.kind}`];
      expect(Model, name(o)).toBeDefined();
      expect(() => new Model!(o as never).validate(), name(o)).not.toThrow();
    }
    const bad = set(find(overlay, 'Deployment'), `${CONTAINER}.resources.limits.memory`, 'lots');
    expect(() => new Deployment(bad as never).validate()).toThrow();
  });
});

/** What an old or a current API must refuse in a NetworkPolicy. */
function policyMistakes(objects: K8sObject[]): Array<[string, K8sObject, RegExp]> {
  const policy = () => find(objects, 'NetworkPolicy');
  return [
    ['a misspelt field', set(policy(), 'spec.podSelecter', {}), /'"?podSelecter"?' does not exist/],
    ['a peer field that does not exist', set(policy(), 'spec.ingress.0.from.0.serviceSelector', {}), /serviceSelector/],
    [
      'a protocol that is not a string',
      set(policy(), 'spec.ingress.0.ports.0.protocol', 6),
      /not assignable to type 'string/,
    ],
  ];
}

describe('the NetworkPolicy overlays against the Kubernetes API schemas (offline)', () => {
  beforeAll(async () => {
    [baseWithPolicy, overlayWithPolicy] = await Promise.all([
      kustomize(path.join(DEPLOY, 'overlays', 'network-policy')),
      kustomize(path.join(DEPLOY, 'overlays', 'k8s-1.25+-network-policy')),
    ]);
  }, 60_000);

  it('deploy/overlays/network-policy validates against Kubernetes 1.13 and 1.18, which lack endPort', () => {
    expect(baseWithPolicy.map(name)).toContain('networking.k8s.io/v1 NetworkPolicy/mygrpcadapter');
    expect(baseWithPolicy.length).toBe(base.length + 1);
    const endPort = set(find(baseWithPolicy, 'NetworkPolicy'), 'spec.ingress.0.ports.0.endPort', 8001);
    for (const source of [K8S_1_13, K8S_1_18]) {
      expectRejected(source, baseWithPolicy, [
        ...policyMistakes(baseWithPolicy),
        ['endPort (beta 1.22, GA 1.25)', endPort, /'"?endPort"?' does not exist/],
      ]);
    }
  }, 60_000);

  it('its NetworkPolicy passes kubernetes-models (formats, enums, required fields of Kubernetes 1.33)', () => {
    const o = find(overlayWithPolicy, 'NetworkPolicy');
    expect(() => new NetworkPolicy(o as never).validate()).not.toThrow();
    expect(() => new NetworkPolicy(set(o, 'spec.policyTypes', ['Inbound']) as never).validate()).toThrow();
  });

  it('deploy/overlays/k8s-1.25+-network-policy validates against a current Kubernetes, which no longer serves extensions/v1beta1', () => {
    expect(overlayWithPolicy.length).toBe(overlay.length + 1);
    expectRejected(K8S_CURRENT, overlayWithPolicy, [
      ...policyMistakes(overlayWithPolicy),
      [
        'extensions/v1beta1 NetworkPolicy (removed in 1.16)',
        { ...find(overlayWithPolicy, 'NetworkPolicy'), apiVersion: 'extensions/v1beta1' },
        /extensions\/v1beta1/,
      ],
    ]);
  }, 60_000);
});

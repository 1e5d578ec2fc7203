// deploy/istio/: what an operator applies to point Istio at the adapter's
// Envoy front-ends, validated offline against Istio's own API at the istio/api
// tags of each folder's range (test/helpers/istio-schemas.ts says how):
// - 1.9-1.12/ against 1.9.0, 1.10.0, 1.11.0 and 1.12.0,
// - current/ against 1.13.0, 1.21.0, 1.22.0 and 1.30.0.
// The negative cases prove the checks refuse what a version lacks. The
// providers, Service name and port must agree with deploy/ and each other.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import {
  crdComplaints,
  crdOf,
  crdSchema,
  crdTag,
  deprecatedMeshFields,
  ISTIO_TAGS,
  meshConfigComplaints,
  meshTag,
  parseField,
} from './helpers/istio-schemas.js';
import { DEPLOY, kustomize, type K8sObject } from './helpers/kustomize.js';

const OLD = path.join(DEPLOY, 'istio', '1.9-1.12');
const CURRENT = path.join(DEPLOY, 'istio', 'current');
const OLD_TAGS = ['1.9.0', '1.10.0', '1.11.0', '1.12.0'];
const CURRENT_TAGS = ['1.13.0', '1.21.0', '1.22.0', '1.30.0'];

interface Provider {
  name: string;
  [kind: string]: unknown;
}
interface IstioOperator extends K8sObject {
  spec: {
    meshConfig: {
      extensionProviders: Provider[];
      defaultConfig?: { envoyAccessLogService?: { address: string } };
      [field: string]: unknown;
    };
  };
}
type Policy = K8sObject & { spec: { action: string; provider: { name: string }; rules: unknown[] } };
type Telemetry = K8sObject & { spec: { accessLogging: Array<{ providers: Array<{ name: string }> }> } };
/** An object to break on purpose. */
type Loose = K8sObject & { spec: Record<string, unknown>; metadata: Record<string, unknown> };
const loose = (o: object): Loose => o as Loose;

function load(dir: string, file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS() as K8sObject);
}
const only = <T>(objects: K8sObject[]): T => {
  expect(objects).toHaveLength(1);
  return structuredClone(objects[0]) as T;
};
const operatorOf = (dir: string) => only<IstioOperator>(load(dir, 'istio-operator.yaml'));
const policyOf = (dir: string) => only<Policy>(load(dir, 'authorization-policy.yaml'));
const telemetry = () => only<Telemetry>(load(CURRENT, 'telemetry.yaml'));
const provider = (op: IstioOperator, kind: string) => op.spec.meshConfig.extensionProviders.find((p) => kind in p)!;

/** Asserts `found` (complaints of one object) is non-empty and names `what`. */
function expectRefused(found: string[], what: RegExp, label: string) {
  expect(found.length, `${label} was accepted`).toBeGreaterThan(0);
  expect(found.join('\n'), label).toMatch(what);
}

describe('the istio/api fixtures', () => {
  it('hold the tags both folders are checked against, each at its commit', () => {
    expect(ISTIO_TAGS).toEqual([...OLD_TAGS, ...CURRENT_TAGS]);
    for (const tag of ISTIO_TAGS) {
      expect(crdTag(tag).commit, tag).toMatch(/^[0-9a-f]{40}$/);
      expect(meshTag(tag).commit, tag).toBe(crdTag(tag).commit);
    }
  });

  it('state the facts deploy/istio/ relies on', () => {
    const grpc = (tag: string) =>
      meshTag(tag).messages['MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider']!.fields;
    const providers = (tag: string) => meshTag(tag).messages['MeshConfig.ExtensionProvider']!.fields;
    const served = (tag: string, group: string, kind: string) =>
      crdOf(tag, group, kind)
        ?.versions.filter((v) => v.served)
        .map((v) => v.name)
        .sort();
    for (const tag of ISTIO_TAGS) {
      expect(parseField(meshTag(tag).messages.MeshConfig!.fields.extensionProviders!)).toMatchObject({
        number: 57,
        repeated: true,
      });
      expect(parseField(providers(tag).envoyExtAuthzGrpc!).number).toBe(3);
      expect(parseField(meshTag(tag).messages.ProxyConfig!.fields.envoyAccessLogService!).number).toBe(22);
      expect(served(tag, 'security.istio.io', 'AuthorizationPolicy'), tag).toContain('v1beta1');
    }
    // ext_authz timeout: 1.10 on; ALS providers: 1.13 on; Telemetry v1: 1.22 on.
    expect(Object.keys(grpc('1.9.0')).sort()).toEqual(['failOpen', 'port', 'service', 'statusOnError']);
    expect(grpc('1.10.0').timeout).toBe('5 google.protobuf.Duration');
    expect(providers('1.12.0').envoyHttpAls).toBeUndefined();
    expect(providers('1.13.0').envoyHttpAls).toMatch(/^12 .*EnvoyHttpGrpcV3LogProvider oneof:provider$/);
    expect(providers('1.13.0').envoyTcpAls).toMatch(/^13 .*EnvoyTcpGrpcV3LogProvider oneof:provider$/);
    expect(served('1.9.0', 'telemetry.istio.io', 'Telemetry')).toBeUndefined();
    expect(served('1.12.0', 'telemetry.istio.io', 'Telemetry')).toEqual(['v1alpha1']);
    expect(served('1.21.0', 'telemetry.istio.io', 'Telemetry')).toEqual(['v1alpha1']);
    expect(served('1.22.0', 'telemetry.istio.io', 'Telemetry')).toEqual(['v1', 'v1alpha1']);
    expect(served('1.30.0', 'telemetry.istio.io', 'Telemetry')).toEqual(['v1', 'v1alpha1']);
    expect(served('1.12.0', 'security.istio.io', 'AuthorizationPolicy')).toEqual(['v1beta1']);
  });

  it('carry every CRD schema they name', () => {
    for (const tag of ISTIO_TAGS) {
      for (const crd of Object.values(crdTag(tag).crds)) {
        for (const v of crd.versions) expect(crdSchema(v), `${tag} ${crd.kind} ${v.name}`).toBeTypeOf('object');
      }
    }
  });
});

describe('deploy/istio/1.9-1.12 (Istio 1.9-1.12)', () => {
  it('its AuthorizationPolicy validates against the CRD of each tag', () => {
    for (const tag of OLD_TAGS) expect(crdComplaints(tag, policyOf(OLD)), tag).toEqual([]);
  });

  it('its meshConfig has only fields of each tag, of the right types, none deprecated', () => {
    const mesh = operatorOf(OLD).spec.meshConfig;
    for (const tag of OLD_TAGS) {
      expect(meshConfigComplaints(tag, mesh), tag).toEqual([]);
      expect(deprecatedMeshFields(tag, mesh), tag).toEqual([]);
    }
  });

  it('1.9 refuses an ext_authz timeout (1.10+), and 1.12 an envoyHttpAls provider (1.13+)', () => {
    const withTimeout = operatorOf(OLD).spec.meshConfig;
    (
      provider({ spec: { meshConfig: withTimeout } } as IstioOperator, 'envoyExtAuthzGrpc').envoyExtAuthzGrpc as Record<
        string,
        unknown
      >
    ).timeout = '0.5s';
    expectRefused(
      meshConfigComplaints('1.9.0', withTimeout),
      /envoyExtAuthzGrpc\.timeout: .* has no field timeout/,
      'timeout on 1.9',
    );
    expect(meshConfigComplaints('1.10.0', withTimeout)).toEqual([]);
    const current = operatorOf(CURRENT).spec.meshConfig;
    expectRefused(meshConfigComplaints('1.12.0', current), /has no field envoyHttpAls/, 'envoyHttpAls on 1.12');
    expectRefused(meshConfigComplaints('1.12.0', current), /has no field envoyTcpAls/, 'envoyTcpAls on 1.12');
  });

  it('refuses misspelt fields, wrong types and two providers in one entry', () => {
    const mesh = () => operatorOf(OLD).spec.meshConfig;
    const misspelt = { ...mesh(), enableEnvoyAccessLogServices: true };
    expectRefused(meshConfigComplaints('1.12.0', misspelt), /has no field enableEnvoyAccessLogServices/, 'misspelt');
    const snakeCase = { ...mesh(), enable_envoy_access_log_service: true };
    expectRefused(
      meshConfigComplaints('1.12.0', snakeCase),
      /has no field enable_envoy_access_log_service/,
      'proto name',
    );
    const wrongType = mesh();
    (wrongType.extensionProviders[0]!.envoyExtAuthzGrpc as Record<string, unknown>).port = '8000';
    expectRefused(meshConfigComplaints('1.9.0', wrongType), /port: "8000" is not a valid uint32/, 'port as string');
    const negative = mesh();
    (negative.extensionProviders[0]!.envoyExtAuthzGrpc as Record<string, unknown>).port = -1;
    expectRefused(meshConfigComplaints('1.9.0', negative), /is not a valid uint32/, 'negative port');
    const notAList = { ...mesh(), extensionProviders: mesh().extensionProviders[0] };
    expectRefused(meshConfigComplaints('1.9.0', notAList), /a list is expected/, 'providers as a mapping');
    const two = mesh();
    two.extensionProviders[0]!.envoyExtAuthzHttp = { service: 'x', port: 1 };
    expectRefused(meshConfigComplaints('1.9.0', two), /only one of oneof provider/, 'two providers');
    const badAddress = mesh();
    badAddress.defaultConfig = { envoyAccessLogService: { address: 8000 } as unknown as { address: string } };
    expectRefused(meshConfigComplaints('1.9.0', badAddress), /address: 8000 is not a valid string/, 'address type');
    const badDuration = operatorOf(CURRENT).spec.meshConfig;
    (
      provider({ spec: { meshConfig: badDuration } } as IstioOperator, 'envoyExtAuthzGrpc').envoyExtAuthzGrpc as Record<
        string,
        unknown
      >
    ).timeout = '500ms';
    expectRefused(meshConfigComplaints('1.13.0', badDuration), /"500ms" is not a valid google.protobuf.Duration/, 'ms');
  });

  it('the AuthorizationPolicy check refuses a misspelt field, an unknown action and security.istio.io/v1', () => {
    const misspelt = loose(policyOf(OLD));
    misspelt.spec.actoin = 'CUSTOM';
    expectRefused(crdComplaints('1.9.0', misspelt), /additional properties: actoin/, 'actoin');
    const badAction = policyOf(OLD);
    badAction.spec.action = 'EXTERNAL';
    expectRefused(crdComplaints('1.12.0', badAction), /allowed values/, 'action EXTERNAL');
    const v1 = { ...policyOf(OLD), apiVersion: 'security.istio.io/v1' };
    expectRefused(crdComplaints('1.12.0', v1), /does not serve security.istio.io\/v1 /, 'v1 on 1.12');
    const ruleField = policyOf(OLD);
    ruleField.spec.rules = [{ form: [] }];
    expectRefused(crdComplaints('1.9.0', ruleField), /additional properties: form/, 'form');
    const noName = loose({ ...policyOf(OLD), metadata: { namespace: 'istio-system' } });
    expectRefused(crdComplaints('1.9.0', noName), /required property 'name'/, 'no name');
  });
});

describe('deploy/istio/current (Istio 1.13 and later)', () => {
  it('its AuthorizationPolicy and Telemetry validate against the CRDs of each tag', () => {
    for (const tag of CURRENT_TAGS) {
      expect(crdComplaints(tag, policyOf(CURRENT)), tag).toEqual([]);
      expect(crdComplaints(tag, telemetry()), tag).toEqual([]);
    }
  });

  it('its meshConfig has only fields of each tag, of the right types, none deprecated', () => {
    const mesh = operatorOf(CURRENT).spec.meshConfig;
    for (const tag of CURRENT_TAGS) {
      expect(meshConfigComplaints(tag, mesh), tag).toEqual([]);
      expect(deprecatedMeshFields(tag, mesh), tag).toEqual([]);
    }
  });

  it('telemetry.istio.io/v1 is served from 1.22 only; the file uses v1alpha1, served by all', () => {
    expect(telemetry().apiVersion).toBe('telemetry.istio.io/v1alpha1');
    const v1 = { ...telemetry(), apiVersion: 'telemetry.istio.io/v1' };
    for (const tag of ['1.13.0', '1.21.0']) {
      expectRefused(crdComplaints(tag, v1), /does not serve telemetry.istio.io\/v1 Telemetry/, `v1 on ${tag}`);
    }
    for (const tag of ['1.22.0', '1.30.0']) expect(crdComplaints(tag, v1), tag).toEqual([]);
    // 1.10's Telemetry has no accessLogging yet (1.11 on), and 1.9 has no Telemetry.
    expectRefused(crdComplaints('1.10.0', telemetry()), /additional properties: accessLogging/, 'Telemetry on 1.10');
    expectRefused(crdComplaints('1.9.0', telemetry()), /defines no Telemetry/, 'Telemetry on 1.9');
  });

  it('the Telemetry check refuses a misspelt field and a provider given as a string', () => {
    const misspelt = loose(telemetry());
    misspelt.spec.accessLoging = misspelt.spec.accessLogging;
    delete misspelt.spec.accessLogging;
    for (const tag of CURRENT_TAGS)
      expectRefused(crdComplaints(tag, misspelt), /additional properties: accessLoging/, tag);
    const asString = loose(telemetry());
    asString.spec.accessLogging = [{ providers: ['mygrpcadapter-http-als'] }];
    expectRefused(crdComplaints('1.13.0', asString), /should be object/, 'providers as strings');
  });

  it('CEL rules on what the objects set are evaluated, and one that is not known fails the check', () => {
    const both = loose(telemetry());
    both.spec.selector = { matchLabels: { app: 'productpage' } };
    both.spec.targetRefs = [{ kind: 'Service', group: '', name: 'productpage' }];
    expectRefused(crdComplaints('1.30.0', both), /only one of targetRefs or selector/, 'selector and targetRefs');
    const wildcard = loose(telemetry());
    wildcard.spec.selector = { matchLabels: { app: '*' } };
    expectRefused(crdComplaints('1.30.0', wildcard), /CEL rule not evaluated offline/, 'matchLabels rules');
  });
});

describe('deploy/istio/ agrees with deploy/ and with itself', () => {
  let address: { host: string; port: number };

  beforeAll(async () => {
    const objects = await kustomize(DEPLOY);
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === 'mygrpcadapter') as K8sObject & {
      spec: { ports: Array<{ name: string; port: number; targetPort: string }> };
    };
    const grpc = service.spec.ports.find((p) => p.name === 'grpc')!;
    const deployment = objects.find((o) => o.kind === 'Deployment') as K8sObject & {
      spec: {
        template: {
          spec: { containers: Array<{ args: string[]; ports: Array<{ name: string; containerPort: number }> }> };
        };
      };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    // The Service's port leads to the port the adapter serves gRPC (and so the Envoy front-ends) on.
    expect(container.ports.find((p) => p.name === grpc.targetPort)!.containerPort).toBe(
      (await adapterOptionsFromArgv(container.args)).port,
    );
    address = { host: `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`, port: grpc.port };
  }, 60_000);

  it.each([
    ['1.9-1.12', OLD, ['envoyExtAuthzGrpc']],
    ['current', CURRENT, ['envoyExtAuthzGrpc', 'envoyHttpAls', 'envoyTcpAls']],
  ])('%s: every provider dials the adapter Service on its gRPC port', (_, dir, kinds) => {
    const op = operatorOf(dir);
    expect(op.apiVersion).toBe('install.istio.io/v1alpha1');
    expect(op.kind).toBe('IstioOperator');
    expect(Object.keys(op.spec)).toEqual(['meshConfig']);
    const providers = op.spec.meshConfig.extensionProviders;
    expect(providers.map((p) => Object.keys(p).find((k) => k !== 'name'))).toEqual(kinds);
    for (const p of providers) {
      expect(p[Object.keys(p).find((k) => k !== 'name')!]).toMatchObject({ service: address.host, port: address.port });
    }
    expect(new Set(providers.map((p) => p.name)).size).toBe(providers.length);
  });

  it('1.9-1.12: the mesh-wide access log service is the same Service and port', () => {
    const mesh = operatorOf(OLD).spec.meshConfig;
    expect(mesh.enableEnvoyAccessLogService).toBe(true);
    expect(mesh.defaultConfig!.envoyAccessLogService!.address).toBe(`${address.host}:${address.port}`);
  });

  it('current: no mesh-wide access log service beside the providers (every entry would be sent twice)', () => {
    const mesh = operatorOf(CURRENT).spec.meshConfig;
    expect(mesh.enableEnvoyAccessLogService).toBeUndefined();
    expect(mesh.defaultConfig).toBeUndefined();
  });

  it('the AuthorizationPolicy asks the ext_authz provider of its folder for every request, mesh-wide', () => {
    for (const dir of [OLD, CURRENT]) {
      const policy = policyOf(dir);
      expect(policy.spec.action).toBe('CUSTOM');
      expect(provider(operatorOf(dir), 'envoyExtAuthzGrpc').name).toBe(policy.spec.provider.name);
      expect(policy.spec.rules).toEqual([{}]);
      expect(policy.metadata.namespace).toBe('istio-system');
      expect(policy.spec).not.toHaveProperty('selector');
    }
    // One policy for both ranges: the files differ only in the comment naming their own path.
    const text = (dir: string) =>
      readFileSync(path.join(dir, 'authorization-policy.yaml'), 'utf8').replace(/deploy\/istio\/[^/]+\//g, '');
    expect(text(CURRENT)).toBe(text(OLD));
  });

  it('the Telemetry turns on exactly the access-log providers, mesh-wide', () => {
    const op = operatorOf(CURRENT);
    const t = telemetry();
    expect(t.metadata.namespace).toBe('istio-system');
    expect(t.spec).not.toHaveProperty('selector');
    expect(t.spec.accessLogging.flatMap((a) => a.providers.map((p) => p.name))).toEqual([
      provider(op, 'envoyHttpAls').name,
      provider(op, 'envoyTcpAls').name,
    ]);
  });

  it('deploy/istio/ holds only these files', async () => {
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(path.join(DEPLOY, 'istio'))).sort()).toEqual(['1.9-1.12', 'current']);
    expect((await readdir(OLD)).sort()).toEqual(['authorization-policy.yaml', 'istio-operator.yaml']);
    expect((await readdir(CURRENT)).sort()).toEqual([
      'authorization-policy.yaml',
      'istio-operator.yaml',
      'telemetry.yaml',
    ]);
  });
});

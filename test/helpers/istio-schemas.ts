// Offline validation of the Istio resources in deploy/istio/ against Istio's
// own API at one istio/api tag, from test/fixtures/istio-api/ (its README says
// how they were made):
// - AuthorizationPolicy and Telemetry objects against the CRD of that tag: the
//   group/version must be served, and the object must satisfy the version's
//   openAPIV3Schema (ajv), with unknown fields refused as `kubectl apply
//   --validate=strict` does (an API server without strict validation would
//   drop them silently). x-kubernetes-validations (CEL) rules cannot run
//   here: a rule on a part of the object that is set must be one this file
//   evaluates by hand, or that is a complaint too.
// - An IstioOperator's spec.meshConfig (free-form YAML for the IstioOperator
//   CRD) field by field against the MeshConfig protos of that tag: JSON
//   (lowerCamelCase) names, value types, oneofs.
// Like test/helpers/k8s-schemas.ts, validators return each object's
// complaints; none means valid for that Istio version.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { ROOT } from './cli.js';
import type { K8sObject } from './kustomize.js';

type Schema = Record<string, unknown>;

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  /** Key into the fixture's `schemas`. */
  schema: string;
}

interface Crd {
  crdApiVersion: string;
  group: string;
  kind: string;
  scope: string;
  versions: CrdVersion[];
}

interface CrdTag {
  commit: string;
  files: Record<string, string>;
  crds: Record<string, Crd>;
}

interface MeshTag {
  commit: string;
  files: Record<string, string>;
  messages: Record<string, { fields: Record<string, string> }>;
  enums: Record<string, string[]>;
}

export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'istio-api');
const fixture = (file: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));
const CRDS = fixture('crds.json') as { tags: Record<string, CrdTag>; schemas: Record<string, Schema> };
const MESH = fixture('mesh.json') as { tags: Record<string, MeshTag> };

/** The istio/api tags the fixtures hold, oldest first. */
export const ISTIO_TAGS: string[] = Object.keys(CRDS.tags);

export function crdTag(tag: string): CrdTag {
  const t = CRDS.tags[tag];
  if (!t) throw new Error(`no istio/api ${tag} in test/fixtures/istio-api/crds.json`);
  return t;
}

export function meshTag(tag: string): MeshTag {
  const t = MESH.tags[tag];
  if (!t) throw new Error(`no istio/api ${tag} in test/fixtures/istio-api/mesh.json`);
  return t;
}

export function crdSchema(version: CrdVersion): Schema {
  const s = CRDS.schemas[version.schema];
  if (!s) throw new Error(`schema ${version.schema} missing from crds.json`);
  return s;
}

/** The CRD of `group`/`kind` at `tag`, if Istio defined one then. */
export function crdOf(tag: string, group: string, kind: string): Crd | undefined {
  return Object.values(crdTag(tag).crds).find((c) => c.group === group && c.kind === kind);
}

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The schema as an API server with strict field validation applies it: an
 * object schema that neither lists a field nor preserves unknown fields
 * refuses it (Kubernetes would prune it otherwise).
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== 'object') return schema;
  const s = schema as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([name, p]) => [name, strict(p)]));
    } else if (['items', 'additionalProperties', 'not', 'oneOf', 'anyOf', 'allOf'].includes(k)) {
      out[k] = typeof v === 'object' ? strict(v) : v;
    } else {
      out[k] = v;
    }
  }
  const isObject = s.type === 'object' || s.properties !== undefined;
  if (isObject && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** ObjectMeta as far as these manifests use it. */
const METADATA: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1 },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
  additionalProperties: false,
};

// Formats the fixtures use besides ajv's own (date-time): type hints the API
// server does not check. Any other format makes the schema fail to compile.
const ajv = new Ajv({ allErrors: true, nullable: true, jsonPointers: true });
for (const hint of ['string', 'double']) ajv.addFormat(hint, () => true);
const compiled = new Map<string, Ajv.ValidateFunction>();

function validatorFor(version: CrdVersion): Ajv.ValidateFunction {
  let v = compiled.get(version.schema);
  if (!v) {
    const schema = crdSchema(version);
    const properties = (schema.properties ?? {}) as Schema;
    v = ajv.compile(
      strict({
        ...schema,
        type: 'object',
        required: ['apiVersion', 'kind', 'metadata'],
        properties: { ...properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: METADATA },
      }) as object,
    );
    compiled.set(version.schema, v);
  }
  return v;
}

/**
 * CEL rules of Istio's CRDs that these tests evaluate by hand, by rule text.
 * Each gets the value at the schema node that carries the rule.
 */
const CEL: Record<string, (self: unknown) => boolean> = {
  '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1': (self) =>
    ['selector', 'targetRef', 'targetRefs'].filter((k) => (self as Schema)[k] !== undefined).length <= 1,
};

/** Evaluates (or names as not evaluable) every CEL rule on a part of `value` that is set. */
function celComplaints(schema: unknown, value: unknown, at: string): string[] {
  if (schema === null || typeof schema !== 'object' || value === undefined) return [];
  const s = schema as Schema;
  const out: string[] = [];
  for (const rule of (s['x-kubernetes-validations'] ?? []) as Array<{ rule: string; message?: string }>) {
    const check = CEL[rule.rule];
    if (!check) out.push(`${at || '/'}: CEL rule not evaluated offline: ${rule.rule}`);
    else if (!check(value)) out.push(`${at || '/'}: ${rule.message ?? rule.rule}`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => out.push(...celComplaints(s.items, item, `${at}/${i}`)));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Schema)) {
      const props = s.properties as Schema | undefined;
      out.push(...celComplaints(props?.[k] ?? s.additionalProperties, v, `${at}/${k}`));
    }
  }
  return out;
}

/** What the API server of Istio `tag` (CRDs as installed by it) would refuse in `object`. */
export function crdComplaints(tag: string, object: K8sObject): string[] {
  const { group, version } = groupVersion(String(object.apiVersion));
  const crd = crdOf(tag, group, String(object.kind));
  if (!crd) return [`Istio ${tag} defines no ${object.kind} in ${group}`];
  const v = crd.versions.find((x) => x.name === version && x.served);
  if (!v) {
    const served = crd.versions.filter((x) => x.served).map((x) => `${group}/${x.name}`);
    return [`Istio ${tag} does not serve ${object.apiVersion} ${object.kind} (it serves ${served.join(', ')})`];
  }
  const validate = validatorFor(v);
  const out: string[] = [];
  if (!validate(object)) {
    for (const e of validate.errors ?? []) {
      const extra = 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : '';
      const allowed = 'allowedValues' in e.params ? `: ${JSON.stringify(e.params.allowedValues)}` : '';
      out.push(`${e.dataPath || '/'} ${e.message ?? e.keyword}${extra}${allowed}`);
    }
  }
  out.push(...celComplaints(crdSchema(v), object, ''));
  return out;
}

// ---- MeshConfig against the protos ----

interface Field {
  number: number;
  repeated: boolean;
  mapKey?: string;
  type: string;
  oneof?: string;
  deprecated: boolean;
}

/** A field line of mesh.json: "number [repeated|map<key>] type [oneof:name] [deprecated]". */
export function parseField(line: string): Field {
  const parts = line.split(' ');
  const field: Field = { number: Number(parts.shift()), repeated: false, type: '', deprecated: false };
  for (const p of parts) {
    if (p === 'repeated') field.repeated = true;
    else if (p === 'deprecated') field.deprecated = true;
    else if (p.startsWith('map<')) field.mapKey = p.slice(4, -1);
    else if (p.startsWith('oneof:')) field.oneof = p.slice(6);
    else field.type = p;
  }
  return field;
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};

/** Checks of protobuf JSON (proto3 JSON mapping) for scalars and the well-known types, by type name. */
const SCALARS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  bytes: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  double: (v) => typeof v === 'number',
  float: (v) => typeof v === 'number',
  int64: (v) => Number.isInteger(v) || (typeof v === 'string' && /^-?\d+$/.test(v)),
  uint64: (v) => (Number.isInteger(v) && (v as number) >= 0) || (typeof v === 'string' && /^\d+$/.test(v)),
  'google.protobuf.Duration': (v) => typeof v === 'string' && /^-?\d+(\.\d{1,9})?s$/.test(v),
  'google.protobuf.BoolValue': (v) => typeof v === 'boolean',
  'google.protobuf.StringValue': (v) => typeof v === 'string',
  'google.protobuf.DoubleValue': (v) => typeof v === 'number',
  'google.protobuf.Struct': (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
};
for (const [t, [min, max]] of Object.entries(INT_RANGES)) {
  SCALARS[t] = (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
}
SCALARS['google.protobuf.Int32Value'] = SCALARS.int32!;
SCALARS['google.protobuf.UInt32Value'] = SCALARS.uint32!;

/** Fields of `mesh` (a MeshConfig as YAML gives it) that Istio `tag` does not have, or with values of the wrong type. */
export function meshConfigComplaints(tag: string, mesh: unknown): string[] {
  return messageComplaints(meshTag(tag), 'MeshConfig', mesh, 'meshConfig', tag);
}

/** Fields of `mesh` that Istio `tag` marks deprecated. */
export function deprecatedMeshFields(tag: string, mesh: unknown): string[] {
  const out: string[] = [];
  const t = meshTag(tag);
  const walk = (message: string, value: unknown, at: string) => {
    const fields = t.messages[message]?.fields ?? {};
    for (const [key, v] of Object.entries((value ?? {}) as Schema)) {
      const line = fields[key];
      if (!line) continue;
      const f = parseField(line);
      if (f.deprecated) out.push(`${at}.${key}`);
      if (!t.messages[f.type] || f.mapKey) continue;
      if (f.repeated) (v as unknown[]).forEach((item, i) => walk(f.type, item, `${at}.${key}[${i}]`));
      else walk(f.type, v, `${at}.${key}`);
    }
  };
  walk('MeshConfig', mesh, 'meshConfig');
  return out;
}

function messageComplaints(t: MeshTag, message: string, value: unknown, at: string, tag: string): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [`${at}: a ${message} must be a mapping`];
  }
  const fields = t.messages[message]!.fields;
  const out: string[] = [];
  const oneofs = new Map<string, string[]>();
  for (const [key, v] of Object.entries(value as Schema)) {
    const line = fields[key];
    if (!line) {
      out.push(`${at}.${key}: ${message} of Istio ${tag} has no field ${key}`);
      continue;
    }
    const f = parseField(line);
    if (f.oneof) oneofs.set(f.oneof, [...(oneofs.get(f.oneof) ?? []), key]);
    if (f.repeated) {
      if (!Array.isArray(v)) out.push(`${at}.${key}: a list is expected (repeated ${f.type})`);
      else v.forEach((item, i) => out.push(...valueComplaints(t, f.type, item, `${at}.${key}[${i}]`, tag)));
    } else if (f.mapKey) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) out.push(`${at}.${key}: a mapping is expected`);
      else
        for (const [k, item] of Object.entries(v))
          out.push(...valueComplaints(t, f.type, item, `${at}.${key}.${k}`, tag));
    } else {
      out.push(...valueComplaints(t, f.type, v, `${at}.${key}`, tag));
    }
  }
  for (const [name, keys] of oneofs) {
    if (keys.length > 1) out.push(`${at}: only one of oneof ${name} may be set, not ${keys.join(' and ')}`);
  }
  return out;
}

function valueComplaints(t: MeshTag, type: string, value: unknown, at: string, tag: string): string[] {
  const scalar = SCALARS[type];
  if (scalar) return scalar(value) ? [] : [`${at}: ${JSON.stringify(value)} is not a valid ${type}`];
  const values = t.enums[type];
  if (values) return values.includes(value as string) ? [] : [`${at}: ${JSON.stringify(value)} is not one of ${type}`];
  if (t.messages[type]) return messageComplaints(t, type, value, at, tag);
  return [`${at}: type ${type} is not in test/fixtures/istio-api/mesh.json (scripts/istio-api-fixtures.mjs)`];
}

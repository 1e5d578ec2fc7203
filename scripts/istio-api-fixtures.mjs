#!/usr/bin/env node
// Writes test/fixtures/istio-api/{crds,mesh}.json from a git clone of
// github.com/istio/api, at the tags below (test/fixtures/istio-api/README.md):
//   git clone https://github.com/istio/api /tmp/istio-api
//   node scripts/istio-api-fixtures.mjs /tmp/istio-api
// - crds.json: the AuthorizationPolicy and Telemetry CustomResourceDefinitions
//   of kubernetes/customresourcedefinitions.gen.yaml: group, kind, and per
//   version served/storage and the openAPIV3Schema, with the schemas'
//   `description` texts left out (they are docs, not rules). Each distinct
//   schema is stored once under `schemas`, named by its SHA-256 (12 digits).
// - mesh.json: the fields of the MeshConfig messages deploy/istio/ uses,
//   parsed from mesh/v1alpha1/config.proto and proxy.proto with protobufjs
//   (IstioOperator keeps meshConfig as free-form YAML, so no CRD schema covers
//   it), one line per field: "JSON name": "number [repeated|map<key>] type
//   [oneof:name] [deprecated]"; enums with their value names.
// Each tag records its commit and the SHA-256 of every file read.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import protobuf from 'protobufjs';
import { parseAllDocuments } from 'yaml';

const TAGS = ['1.9.0', '1.10.0', '1.11.0', '1.12.0', '1.13.0', '1.21.0', '1.22.0', '1.30.0'];
const CRDS = ['authorizationpolicies.security.istio.io', 'telemetries.telemetry.istio.io'];
const CRD_FILE = 'kubernetes/customresourcedefinitions.gen.yaml';
const PROTO_FILES = ['mesh/v1alpha1/config.proto', 'mesh/v1alpha1/proxy.proto'];
const PACKAGE = 'istio.mesh.v1alpha1';
/** The messages deploy/istio/ sets fields of (those a tag lacks are left out of that tag). */
const MESSAGES = [
  'MeshConfig',
  'MeshConfig.ExtensionProvider',
  'MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider',
  'MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationRequestBody',
  'MeshConfig.ExtensionProvider.EnvoyHttpGrpcV3LogProvider',
  'MeshConfig.ExtensionProvider.EnvoyTcpGrpcV3LogProvider',
  'ProxyConfig',
  'RemoteService',
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'test', 'fixtures', 'istio-api');
const repo = process.argv[2];
if (!repo) {
  process.stderr.write('usage: node scripts/istio-api-fixtures.mjs <git clone of github.com/istio/api>\n');
  process.exit(2);
}

const git = (...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** A JSON schema without its `description` keywords (property names called "description" stay). */
function withoutDescriptions(schema) {
  if (Array.isArray(schema)) return schema.map(withoutDescriptions);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (key === 'properties') {
      copy.properties = Object.fromEntries(Object.entries(value).map(([n, s]) => [n, withoutDescriptions(s)]));
    } else if (['items', 'additionalProperties', 'not', 'oneOf', 'anyOf', 'allOf'].includes(key)) {
      copy[key] = withoutDescriptions(value);
    } else {
      copy[key] = value;
    }
  }
  return copy;
}

/** Distinct schemas, by the first 12 hex digits of their SHA-256. */
const schemas = {};
function schemaId(schema) {
  const json = JSON.stringify(schema);
  const id = sha256(json).slice(0, 12);
  if (schemas[id] !== undefined && JSON.stringify(schemas[id]) !== json) throw new Error(`schema id clash: ${id}`);
  schemas[id] = schema;
  return id;
}

function crdsAt(tag) {
  const text = git('show', `${tag}:${CRD_FILE}`);
  const crds = {};
  for (const doc of parseAllDocuments(text)) {
    const crd = doc.toJS();
    if (!crd || !CRDS.includes(crd.metadata?.name)) continue;
    // apiextensions.k8s.io/v1beta1 (up to 1.11) has one schema for all versions.
    const shared = crd.spec.validation?.openAPIV3Schema;
    const versions = crd.spec.versions ?? [{ name: crd.spec.version, served: true, storage: true }];
    crds[crd.metadata.name] = {
      crdApiVersion: crd.apiVersion,
      group: crd.spec.group,
      kind: crd.spec.names.kind,
      scope: crd.spec.scope,
      versions: versions.map((v) => ({
        name: v.name,
        served: v.served,
        storage: v.storage,
        schema: schemaId(withoutDescriptions(v.schema?.openAPIV3Schema ?? shared)),
      })),
    };
  }
  return { files: { [CRD_FILE]: sha256(text) }, crds };
}

/** protobuf's JSON name: lowerCamelCase of the field name, unless json_name says otherwise. */
const jsonName = (field) => field.options?.json_name ?? field.name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function typeName(field) {
  const resolved = field.parent.lookup(field.type);
  if (!resolved) return field.type; // a scalar, or a type from a file not parsed (google.protobuf.*, networking)
  return resolved.fullName.replace(`.${PACKAGE}.`, '');
}

function meshAt(tag) {
  const files = {};
  const rootNs = new protobuf.Root();
  for (const file of PROTO_FILES) {
    const text = git('show', `${tag}:${file}`);
    files[file] = sha256(text);
    protobuf.parse(text, rootNs, { keepCase: true });
  }
  const messages = {};
  const enums = {};
  for (const name of MESSAGES) {
    const type = rootNs.lookup(`${PACKAGE}.${name}`);
    if (!(type instanceof protobuf.Type)) continue;
    const fields = {};
    for (const field of type.fieldsArray) {
      fields[jsonName(field)] = [
        field.id,
        field.repeated ? 'repeated' : field.map ? `map<${field.keyType}>` : undefined,
        typeName(field),
        field.partOf ? `oneof:${field.partOf.name}` : undefined,
        field.options?.deprecated ? 'deprecated' : undefined,
      ]
        .filter((part) => part !== undefined)
        .join(' ');
      const resolved = field.parent.lookup(field.type);
      if (resolved instanceof protobuf.Enum) enums[typeName(field)] = Object.keys(resolved.values);
    }
    messages[name] = { fields };
  }
  return { files, messages, enums };
}

async function write(file, value) {
  const target = path.join(out, file);
  const options = (await prettier.resolveConfig(target)) ?? {};
  writeFileSync(target, await prettier.format(JSON.stringify(value), { ...options, filepath: target }));
}

const crds = { repository: 'https://github.com/istio/api', tags: {} };
const mesh = { repository: 'https://github.com/istio/api', package: PACKAGE, tags: {} };
for (const tag of TAGS) {
  const commit = git('rev-parse', `${tag}^{commit}`).trim();
  crds.tags[tag] = { commit, ...crdsAt(tag) };
  mesh.tags[tag] = { commit, ...meshAt(tag) };
}
crds.schemas = schemas;
await write('crds.json', crds);
await write('mesh.json', mesh);
process.stdout.write(`istio-api-fixtures: ${TAGS.join(', ')} -> ${path.relative(root, out)}/{crds,mesh}.json\n`);

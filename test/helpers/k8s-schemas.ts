// Offline validation of Kubernetes objects against the API of one Kubernetes
// version, by the TypeScript compiler: each object becomes an object literal
// typed with that version's generated API types, so an unknown field is an
// excess-property error, a wrong type a type error, and an apiVersion or kind
// the version does not serve a missing type. Sources (devDependencies, npm
// aliases pinned to exact releases):
// - @kubernetes/client-node 0.8.2 and 0.12.3, the official client generated
//   from Kubernetes' OpenAPI v1.13.2 and v1.18.0: group/versions are API
//   classes (PolicyV1beta1Api), kinds are models (V1beta1PodDisruptionBudget).
// - kubernetes-types 1.30.0 (one module per group/version, literal apiVersion).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from './cli.js';
import type { K8sObject } from './kustomize.js';

const require = createRequire(import.meta.url);

export interface SchemaSource {
  /** e.g. "Kubernetes 1.13.2". */
  label: string;
  /** The Kubernetes version the package was generated from, read from the package itself. */
  generatedFrom(): string;
  /** TypeScript lines the declarations need first. */
  prelude: string[];
  /** TypeScript lines that declare `const <id> = <literal>` typed for this version. */
  declare(object: K8sObject, id: string): string[];
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * @kubernetes/client-node at one version. `everyFieldOptional`: 0.8.2's
 * generator declared every field required, so there required-ness cannot be
 * read and only unknown fields, types and API versions are checked.
 * `apiClass` names the class of one group/version (generators differ).
 */
function clientNode(
  module: string,
  label: string,
  everyFieldOptional: boolean,
  apiClass: (group: string, version: string) => string,
): SchemaSource {
  return {
    label,
    prelude: [
      `import type * as K from '${module}';`,
      // The generator typed int-or-string fields (ports, minAvailable) as a
      // bare \`object\`: a type without keys becomes number | string. Loose
      // also makes every field optional. Unknown fields stay errors.
      'type Fix<T> = T extends (infer U)[] ? Fix<U>[] : T extends object ? ([keyof T] extends [never] ? number | string : { [P in keyof T]: Fix<T[P]> }) : T;',
      'type Loose<T> = T extends (infer U)[] ? Loose<U>[] : T extends object ? ([keyof T] extends [never] ? number | string : { [P in keyof T]?: Loose<T[P]> }) : T;',
    ],
    generatedFrom() {
      const dir = path.dirname(require.resolve(`${module}/package.json`));
      const files = [path.join(dir, 'dist/api.d.ts'), path.join(dir, 'dist/gen/model/v1Pod.d.ts')];
      for (const f of files) {
        try {
          const m = /(?:OpenAPI spec version|version of the OpenAPI document): v?([\d.]+)/.exec(
            readFileSync(f, 'utf8'),
          );
          if (m) return m[1]!;
        } catch {
          // not this layout
        }
      }
      throw new Error(`no OpenAPI version found in ${module}`);
    },
    declare(object, id) {
      const { group, version } = groupVersion(String(object.apiVersion));
      const groupName =
        group === ''
          ? 'Core'
          : group
              .replace(/\.k8s\.io$/, '')
              .split('.')
              .map(cap)
              .join('');
      const model = `K.${cap(version)}${String(object.kind)}`;
      return [
        // The group/version is served only if the client has its API class.
        `type ${id}_api = K.${apiClass(groupName, version)};`,
        `const ${id}: ${everyFieldOptional ? 'Loose' : 'Fix'}<${model}> = ${JSON.stringify(object)};`,
      ];
    },
  };
}

/** kubernetes-types: one module per group/version, whose kinds carry a literal apiVersion. */
function kubernetesTypes(label: string): SchemaSource {
  return {
    label,
    prelude: [],
    generatedFrom: () => (require('kubernetes-types/package.json') as { version: string }).version,
    declare(object, id) {
      const { group, version } = groupVersion(String(object.apiVersion));
      const dir = group === '' ? 'core' : group.split('.')[0]!;
      return [
        `const ${id}: import('kubernetes-types/${dir}/${version}').${String(object.kind)} = ${JSON.stringify(object)};`,
      ];
    },
  };
}

export const K8S_1_13 = clientNode('k8s-openapi-1.13', 'Kubernetes 1.13', true, (g, v) => `${g}_${v}Api`);
export const K8S_1_18 = clientNode('k8s-openapi-1.18', 'Kubernetes 1.18', false, (g, v) => `${g}${cap(v)}Api`);
export const K8S_CURRENT = kubernetesTypes('Kubernetes 1.30');

/**
 * Type-checks `objects` against `source`; returns, per object, the compiler's
 * complaints (empty = valid for that Kubernetes version).
 */
export function validate(source: SchemaSource, objects: K8sObject[]): string[][] {
  const lines = [...source.prelude];
  const spans: Array<[number, number]> = [];
  objects.forEach((object, i) => {
    const start = lines.length;
    lines.push(...source.declare(object, `o${i}`));
    spans.push([start, lines.length - 1]);
  });
  // A file that exists only in memory, inside the checkout so node_modules resolves.
  const file = path.join(ROOT, 'test', `.k8s-schema-check.ts`);
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
  };
  const host = ts.createCompilerHost(options);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (f) => f === file || fileExists(f);
  host.readFile = (f) => (f === file ? text : readFile(f));
  host.getSourceFile = (f, lang, ...rest) =>
    f === file ? ts.createSourceFile(f, text, lang) : getSourceFile(f, lang, ...rest);
  const program = ts.createProgram([file], options, host);
  const found = objects.map((): string[] => []);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file?.fileName !== file || d.start === undefined) throw new Error(`${source.label}: ${message}`);
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const index = spans.findIndex(([a, b]) => line >= a && line <= b);
    if (index < 0) throw new Error(`${source.label}, line ${line + 1}: ${message}`);
    found[index]!.push(message);
  }
  return found;
}

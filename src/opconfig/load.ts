// Reads operator config (the YAML that goes to the cluster or to mixs's
// fs:// store): folders recursively, multi-document files, each document
// remembered with its file and position for messages.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { entryIs } from '../common/mounted-entries.js';
import { isMap, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';

export interface Resource {
  file: string;
  /** 0-based index of the document within its file. */
  index: number;
  /** 1-based line where the document starts. */
  line: number;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  /** The document's `spec` (an empty object when missing). */
  spec: Record<string, unknown>;
  /**
   * 1-based line of a field given as a dotted path (`spec.params.file_path`,
   * `spec.actions[0].handler`; keys may contain dots), or of its deepest
   * existing ancestor.
   */
  fieldLine(field: string): number;
}

/** A YAML syntax error or a document that is not a Kubernetes-style resource. */
export interface LoadProblem {
  file: string;
  index: number;
  line: number;
  message: string;
}

export interface LoadResult {
  resources: Resource[];
  problems: LoadProblem[];
}

const YAML_FILE = /\.ya?ml$/i;
const DEFAULT_NAMESPACE = 'istio-system';

/**
 * Lists YAML files under each path (a file is taken as is), sorted, like
 * mixs's fs store. A file reached twice (a folder and a file in it, two
 * spellings) is listed once, as first spelt: read twice, each of its
 * resources would look defined twice.
 */
export async function yamlFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p);
    if (!info.isDirectory()) {
      out.push(p);
      continue;
    }
    const entries = await readdir(p, { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (!YAML_FILE.test(e.name)) continue;
      const file = path.join(e.parentPath, e.name);
      // A mounted ConfigMap: each key is a symlink through `..data` to a
      // `..<timestamp>` folder, which Kubernetes swaps on update. Read the
      // links by their own names and skip the `..` folders behind them.
      if (
        path
          .relative(p, file)
          .split(path.sep)
          .some((part) => part.startsWith('..'))
      )
        continue;
      if (await entryIs(e, file, 'file')) out.push(file);
    }
  }
  const byLocation = new Map<string, string>();
  for (const file of out) if (!byLocation.has(path.resolve(file))) byLocation.set(path.resolve(file), file);
  return [...byLocation.values()].sort();
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The line of the node at `field` (see Resource.fieldLine), walking down from `node`. */
function lineAt(text: string, node: YamlNode | null | undefined, field: string, fallback: number): number {
  let line = fallback;
  let rest = field;
  let current: unknown = node;
  while (rest !== '' && current) {
    if (isSeq(current)) {
      const m = /^\[(\d+)\]\.?/.exec(rest);
      if (!m) break;
      current = current.items[Number(m[1])];
      rest = rest.slice(m[0].length);
    } else if (isMap(current)) {
      // The longest key that the rest of the path starts with (attribute names hold dots).
      let best: { key: string; value: unknown; keyNode: unknown } | undefined;
      for (const pair of current.items) {
        const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
        const follows = rest === key || rest.startsWith(`${key}.`) || rest.startsWith(`${key}[`);
        if (follows && key.length > (best?.key.length ?? -1)) best = { key, value: pair.value, keyNode: pair.key };
      }
      if (!best) break;
      const range = (best.keyNode as { range?: [number, number, number] } | null)?.range;
      if (range) line = lineOf(text, range[0]);
      current = best.value;
      rest = rest.slice(best.key.length).replace(/^\./, '');
    } else break;
  }
  return line;
}

export function parseResources(file: string, text: string): LoadResult {
  const resources: Resource[] = [];
  const problems: LoadProblem[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    const line = lineOf(text, doc.range[0]);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push({ file, index, line: e.linePos?.[0].line ?? line, message: e.message });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // empty document (e.g. after a trailing ---)
    const obj = asRecord(value);
    const metadata = asRecord(obj?.metadata);
    if (!obj || typeof obj.kind !== 'string' || typeof metadata?.name !== 'string') {
      problems.push({ file, index, line, message: 'not a resource: expected `kind` and `metadata.name`' });
      return;
    }
    resources.push({
      file,
      index,
      line,
      apiVersion: typeof obj.apiVersion === 'string' ? obj.apiVersion : '',
      kind: obj.kind,
      name: metadata.name,
      namespace: typeof metadata.namespace === 'string' ? metadata.namespace : DEFAULT_NAMESPACE,
      spec: asRecord(obj.spec) ?? {},
      fieldLine: (field) => lineAt(text, doc.contents, field, line),
    });
  });
  return { resources, problems };
}

/** Loads every resource under `paths` (folders or files). */
export async function loadResources(paths: readonly string[]): Promise<LoadResult> {
  const result: LoadResult = { resources: [], problems: [] };
  for (const file of await yamlFiles(paths)) {
    const parsed = parseResources(file, await readFile(file, 'utf8'));
    result.resources.push(...parsed.resources);
    result.problems.push(...parsed.problems);
  }
  return result;
}

/** Where a resource is, for messages: `file:line (document N)`. */
export function position(r: { file: string; line: number; index: number }): string {
  return `${r.file}:${r.line} (document ${r.index + 1})`;
}

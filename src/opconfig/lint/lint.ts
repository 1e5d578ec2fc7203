// Lints Mixer operator config: loads the files, decodes each adapter's and
// template's descriptor once, and runs the per-kind checks.
import path from 'node:path';
import type protobuf from 'protobufjs';
import { loadResources, type LoadResult, type Resource } from '../load.js';
import { manifest } from '../config.js';
import type { TypeOf } from '../expr/index.js';
import { checkResource, SPEC_FIELDS, type LintContext } from './checks.js';
import type { Finding } from './findings.js';
import { ResourceIndex } from './names.js';
import { duplicateNames } from './duplicates.js';
import { SINK_TYPES } from '../../sinks/registry.js';
import { decodeAdapterConfig, decodeTemplateDescriptor, type Decoded, type TemplateSchema } from './schemas.js';

function memo<T>(decode: (r: Resource) => T): (r: Resource) => T {
  const cache = new Map<Resource, T>();
  return (r) => {
    let v = cache.get(r);
    if (v === undefined) {
      v = decode(r);
      cache.set(r, v);
    }
    return v;
  };
}

/** Types from every attribute manifest; bad declarations are reported by checkAttributeManifest. */
function attributeTypes(resources: readonly Resource[]): TypeOf | undefined {
  const manifests = resources.filter((r) => r.kind === 'attributemanifest');
  if (manifests.length === 0) return undefined;
  const types = manifest(manifests, []);
  return (name) => types.get(name);
}

export interface LintOptions {
  /** Sink plug-in names the adapter loads (`--sink-module NAME=...`), accepted in `sink:`. */
  pluginSinks?: readonly string[];
  /**
   * The adapter's --data-dir: handler file_path values it would refuse are
   * warned about. Relative to the working folder. Unset: not checked (the
   * CLI always sets it, by default to the working folder as the server does).
   */
  dataDir?: string;
}

/** The built-in sink types ("prometheus" included: lint cannot know whether --prometheus-port is set). */
const BUILT_IN_SINKS = [...SINK_TYPES, 'prometheus'];

export function lintLoaded(loaded: LoadResult, options: LintOptions = {}): Finding[] {
  const ctx: LintContext = {
    index: new ResourceIndex(loaded.resources),
    adapterParams: memo((r): Decoded<protobuf.Type | undefined> => decodeAdapterConfig(r.spec.config)),
    template: memo((r): Decoded<TemplateSchema> => decodeTemplateDescriptor(r.spec.descriptor)),
    typeOf: attributeTypes(loaded.resources),
    sinkTypes: [...BUILT_IN_SINKS, ...(options.pluginSinks ?? [])],
    dataDir: options.dataDir === undefined ? undefined : path.resolve(options.dataDir),
  };
  const findings: Finding[] = loaded.problems.map((p) => ({
    severity: 'error',
    file: p.file,
    line: p.line,
    index: p.index,
    resource: '',
    field: '',
    message: p.message,
  }));
  for (const r of loaded.resources) findings.push(...checkResource(r, ctx));
  // Only Mixer's kinds: the linter does not look at other documents.
  findings.push(...duplicateNames(loaded.resources.filter((r) => Object.hasOwn(SPEC_FIELDS, r.kind))));
  return findings;
}

export interface LintResult {
  findings: Finding[];
  /** How many resources of Mixer's kinds were checked. */
  checked: number;
}

/** Lints every YAML file under `paths` (folders or files) together, so references resolve across files. */
export async function lintPaths(paths: readonly string[], options: LintOptions = {}): Promise<LintResult> {
  const loaded = await loadResources(paths);
  return {
    findings: lintLoaded(loaded, options),
    checked: loaded.resources.filter((r) => Object.hasOwn(SPEC_FIELDS, r.kind)).length,
  };
}

// Lints Mixer operator config: loads the files, decodes each adapter's and
// template's descriptor once, and runs the per-kind checks.
import type protobuf from 'protobufjs';
import { loadResources, type LoadResult, type Resource } from '../opconfig/load.js';
import { checkResource, type LintContext } from './checks.js';
import type { Finding } from './findings.js';
import { ResourceIndex } from './names.js';
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

export function lintLoaded(loaded: LoadResult): Finding[] {
  const ctx: LintContext = {
    index: new ResourceIndex(loaded.resources),
    adapterParams: memo((r): Decoded<protobuf.Type | undefined> => decodeAdapterConfig(r.spec.config)),
    template: memo((r): Decoded<TemplateSchema> => decodeTemplateDescriptor(r.spec.descriptor)),
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
  return findings;
}

/** Lints every YAML file under `paths` (folders or files) together, so references resolve across files. */
export async function lintPaths(paths: readonly string[]): Promise<Finding[]> {
  return lintLoaded(await loadResources(paths));
}

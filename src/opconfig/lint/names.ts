// Mixer's naming: every resource is known as `<name>.<kind>.<namespace>`, and
// references between resources are resolved like Mixer's runtime config does:
//   `x`        -> x.<kind>.<own namespace>
//   `x.y`      -> x.y.<own namespace> (old style, y = kind), else x.<kind>.y
//   `x.y.z`    -> taken as written (fully qualified)
import type { Resource } from '../load.js';

export function fullName(name: string, kind: string, namespace: string): string {
  return `${name}.${kind}.${namespace}`;
}

export function resourceName(r: Pick<Resource, 'name' | 'kind' | 'namespace'>): string {
  return fullName(r.name, r.kind, r.namespace);
}

/** The full names a reference may mean, in the order Mixer tries them. */
export function candidates(ref: string, kind: string, namespace: string): string[] {
  const parts = ref.split('.');
  if (parts.length === 1) return [fullName(ref, kind, namespace)];
  if (parts.length === 2) return [`${ref}.${namespace}`, fullName(parts[0] ?? '', kind, parts[1] ?? '')];
  return [ref];
}

/** Resources by full name; the last definition of a name wins, as in a store. */
export class ResourceIndex {
  private readonly byName = new Map<string, Resource>();

  constructor(resources: readonly Resource[]) {
    for (const r of resources) this.byName.set(resourceName(r), r);
  }

  /** The resource of `kind` that `ref`, written in `namespace`, points to. */
  resolve(ref: string, kind: string, namespace: string): Resource | undefined {
    for (const name of candidates(ref, kind, namespace)) {
      const r = this.byName.get(name);
      if (r !== undefined && r.kind === kind) return r;
    }
    return undefined;
  }
}

// The same kind, name and namespace defined more than once among the files
// linted. Mixer's store (and Kubernetes) holds one resource per name, so all
// but the last one applied are lost without a word: worth a warning that
// names every place, since either may be the one meant.
import { position, type Resource } from '../load.js';
import type { Finding } from './findings.js';
import { resourceName } from './names.js';

/** Where a resource's name is written, for messages. */
function namedAt(r: Resource): { file: string; line: number; index: number } {
  return { file: r.file, line: r.fieldLine('metadata.name'), index: r.index };
}

function listed(places: readonly string[]): string {
  return places.length <= 1 ? (places[0] ?? '') : `${places.slice(0, -1).join(', ')} and ${places.at(-1)!}`;
}

/** One warning on each definition after the first of a name, naming all of them. */
export function duplicateNames(resources: readonly Resource[]): Finding[] {
  const byName = new Map<string, Resource[]>();
  for (const r of resources) {
    const name = resourceName(r);
    const same = byName.get(name);
    if (same) same.push(r);
    else byName.set(name, [r]);
  }
  const findings: Finding[] = [];
  for (const [name, same] of byName) {
    if (same.length < 2) continue;
    const times = same.length === 2 ? 'twice' : `${same.length} times`;
    const others = same.length === 2 ? 'the other is' : 'the others are';
    const message =
      `${name} is defined ${times}, at ${listed(same.map((r) => position(namedAt(r))))}; ` +
      `Mixer keeps only one of them (the last applied) and ${others} silently lost`;
    for (const r of same.slice(1)) {
      findings.push({ severity: 'warning', ...namedAt(r), resource: name, field: 'metadata.name', message });
    }
  }
  return findings;
}

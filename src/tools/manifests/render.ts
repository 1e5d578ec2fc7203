// Writes a resource as YAML text behind a comment header. Long base64
// scalars stay on one line (no folding) so the files diff and grep cleanly.
import { stringify } from 'yaml';

export function renderYaml(header: readonly string[], resource: object): string {
  const comments = header.map((line) => `# ${line}`.trimEnd()).join('\n');
  return `${comments}\n${stringify(resource, { lineWidth: 0 })}`;
}

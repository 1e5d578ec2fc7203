// What the linter reports: one problem, where it is and how bad.
import { position } from '../load.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  file: string;
  /** 1-based line of the field (the document's first line when the field is absent). */
  line: number;
  /** 0-based index of the document within its file. */
  index: number;
  /** `<name>.<kind>.<namespace>`, or empty for a document that is not a resource. */
  resource: string;
  /** Dotted path inside the document, e.g. `spec.params.file_path`. */
  field: string;
  message: string;
}

export function countErrors(findings: readonly Finding[]): number {
  return findings.filter((f) => f.severity === 'error').length;
}

/** `file:line (document N) error h1.handler.istio-system spec.params.x: message`, on one line. */
export function formatFinding(f: Finding): string {
  const where = [f.resource, f.field].filter((s) => s !== '').join(' ');
  const [firstLine = ''] = f.message.split('\n');
  return `${position(f)} ${f.severity} ${where ? `${where}: ` : ''}${firstLine}`;
}

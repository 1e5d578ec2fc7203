// The walkthrough's out.txt block for metric calls, and a block in the same
// style for authorization decisions. Lines: two-space indent, two TABs before
// Value/Dimensions, no newline after an instance's closing brace.
import type {
  AdapterRecord,
  AuthorizationRecord,
  ConfigView,
  Decision,
  MetricRecord,
  ValueMap,
} from '../record/types.js';
import { goValue, goValueMap } from './go-print.js';

/** `&Params{FilePath:out.txt,}`: FilePath always (as the sample prints it), other fields when set. */
export function goParams(c: ConfigView): string {
  let s = `&Params{FilePath:${c.filePath},`;
  if (c.authKey !== '') s += `AuthKey:${c.authKey},`;
  if (c.format !== '') s += `Format:${c.format},`;
  if (c.validDuration !== '0s') s += `ValidDuration:${c.validDuration},`;
  if (c.validUseCount !== 0) s += `ValidUseCount:${c.validUseCount},`;
  if (c.denyValidDuration !== '0s') s += `DenyValidDuration:${c.denyValidDuration},`;
  if (c.denyValidUseCount !== 0) s += `DenyValidUseCount:${c.denyValidUseCount},`;
  return s + '}';
}

function metricBlock(records: readonly MetricRecord[]): string {
  const first = records[0];
  if (!first) return '';
  let s = `HandleMetric invoked with:\n  Adapter config: ${goParams(first.config)}\n  Instances: `;
  for (const r of records) {
    s +=
      `'${r.instance}':\n  {\n` +
      `\t\tValue = ${goValue(r.value, r.valueKind)}\n` +
      `\t\tDimensions = ${goValueMap(r.dimensions.values, r.dimensions.kinds)}\n  }`;
  }
  return s + '\n';
}

function props(m: ValueMap): string {
  return goValueMap(m.values, m.kinds);
}

// The lines of a block that depend only on the handler's config or on the
// decision are made once per config view and per decision (both objects live
// as long as their handler; decisions are shared, see core/authorize.ts).
const authorizationHeads = new WeakMap<ConfigView, string>();
const resultLines = new WeakMap<Decision, string>();

function authorizationHead(c: ConfigView): string {
  let head = authorizationHeads.get(c);
  if (head === undefined) {
    head = `HandleAuthorization invoked with:\n  Adapter config: ${goParams(c)}\n  Instance: '`;
    authorizationHeads.set(c, head);
  }
  return head;
}

function resultLine(d: Decision): string {
  let line = resultLines.get(d);
  if (line === undefined) {
    line =
      `  Result: ${d.code}${d.message ? ` (${d.message})` : ''}${d.reason ? `, reason: ${d.reason}` : ''}, ` +
      `valid duration: ${d.validDuration}, valid use count: ${d.validUseCount}\n`;
    resultLines.set(d, line);
  }
  return line;
}

function authorizationBlock(r: AuthorizationRecord): string {
  const subject = r.subject
    ? `&SubjectMsg{User:${r.subject.user},Groups:${r.subject.groups},Properties:${props(r.subject.properties)},}`
    : '<nil>';
  const action = r.action
    ? `&ActionMsg{Namespace:${r.action.namespace},Service:${r.action.service},Method:${r.action.method},` +
      `Path:${r.action.path},Properties:${props(r.action.properties)},}`
    : '<nil>';
  return (
    `${authorizationHead(r.config)}${r.instance}':\n  {\n` +
    `\t\tSubject = ${subject}\n\t\tAction = ${action}\n  }\n` +
    resultLine(r.decision)
  );
}

/** Formats the records of one call: one block for all metric records, one per authorization record. */
export function formatText(records: readonly AdapterRecord[]): string {
  const metric: MetricRecord[] = [];
  let out = '';
  for (const r of records) {
    if (r.template === 'metric') metric.push(r);
    else out += authorizationBlock(r);
  }
  return metricBlock(metric) + out;
}

// JSON lines: one object per record, values as plain JSON with their
// istio.policy.v1beta1.ValueType beside them so consumers can tell 1 from 1.0.
import type { AdapterRecord, ValueMap } from '../record/types.js';

function typesOf(m: ValueMap): Record<string, string> {
  return m.kinds;
}

function toJsonObject(r: AdapterRecord): object {
  const common = { template: r.template, instance: r.instance, dedupId: r.dedupId, receivedAt: r.receivedAt };
  if (r.template === 'metric') {
    return {
      ...common,
      value: r.value,
      dimensions: r.dimensions.values,
      monitoredResourceType: r.monitoredResourceType,
      monitoredResourceDimensions: r.monitoredResourceDimensions.values,
      types: {
        value: r.valueKind,
        dimensions: typesOf(r.dimensions),
        monitoredResourceDimensions: typesOf(r.monitoredResourceDimensions),
      },
      config: r.config,
    };
  }
  const subject = r.subject && { ...r.subject, properties: r.subject.properties.values };
  const action = r.action && { ...r.action, properties: r.action.properties.values };
  return {
    ...common,
    subject,
    action,
    types: {
      subject: r.subject ? typesOf(r.subject.properties) : null,
      action: r.action ? typesOf(r.action.properties) : null,
    },
    decision: r.decision,
    config: r.config,
  };
}

export function formatJson(records: readonly AdapterRecord[]): string {
  let out = '';
  for (const r of records) out += JSON.stringify(toJsonObject(r)) + '\n';
  return out;
}

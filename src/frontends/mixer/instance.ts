// Generated instance messages -> records. Everything that can be wrong with
// an instance is found here, before anything is written.
import type { InstanceMsg__Output as AuthorizationInstance } from '../../generated/authorization/InstanceMsg.js';
import type { InstanceMsg__Output as MetricInstance } from '../../generated/metric/InstanceMsg.js';
import type {
  ActionView,
  AuthorizationRecord,
  ConfigView,
  Decision,
  MetricRecord,
  SubjectView,
  ValueMap,
} from '../../record/types.js';
import { decodeValue, decodeValueMap } from '../../core/value.js';
import { quoted } from '../../common/echo.js';
import { TOKEN_PROPERTY } from '../../core/authorize.js';

/** What every record of one call shares. */
export interface CallContext {
  dedupId: string;
  receivedAt: string;
  config: ConfigView;
}

export function metricRecord(instance: MetricInstance, index: number, ctx: CallContext): MetricRecord {
  // One name function per instance, called only on error; each value adds its suffix.
  const where = (): string => `instances[${index}] (${quoted(instance.name)})`;
  const value = decodeValue(instance.value, where, '.value');
  return {
    template: 'metric',
    instance: instance.name,
    dedupId: ctx.dedupId,
    receivedAt: ctx.receivedAt,
    config: ctx.config,
    value: value.value,
    valueKind: value.kind,
    dimensions: decodeValueMap(instance.dimensions, where, '.dimensions'),
    monitoredResourceType: instance.monitored_resource_type,
    monitoredResourceDimensions: decodeValueMap(
      instance.monitored_resource_dimensions,
      where,
      '.monitored_resource_dimensions',
    ),
  };
}

export interface AuthorizationInput {
  instance: string;
  subject: SubjectView | null;
  action: ActionView | null;
}

/** Decodes an authorization instance; the caller decides, then masks, then records. */
export function authorizationInput(instance: AuthorizationInstance): AuthorizationInput {
  // Built only when a value is bad: quoting the name costs on every call.
  const where = (): string => `instance (${quoted(instance.name)})`;
  const s = instance.subject;
  const a = instance.action;
  return {
    instance: instance.name,
    subject: s && {
      user: s.user,
      groups: s.groups,
      properties: decodeValueMap(s.properties, where, '.subject.properties'),
    },
    action: a && {
      namespace: a.namespace,
      service: a.service,
      method: a.method,
      path: a.path,
      properties: decodeValueMap(a.properties, where, '.action.properties'),
    },
  };
}

/** Masks the token property of `m` in place, so records never hold a secret. */
function maskTokenInPlace(m: ValueMap): void {
  const values = m.values;
  if (!(TOKEN_PROPERTY in values)) return;
  const token = values[TOKEN_PROPERTY];
  if (token !== '' && token !== null) values[TOKEN_PROPERTY] = '***';
}

/**
 * The record of one authorization decision; token-bearing properties masked.
 * It takes `input` over (its subject and action become the record's, masked
 * in place: no copy per check), so decide before recording and do not use
 * `input` after.
 */
export function authorizationRecord(
  input: AuthorizationInput,
  decision: Decision,
  ctx: CallContext,
): AuthorizationRecord {
  if (input.subject) maskTokenInPlace(input.subject.properties);
  if (input.action) maskTokenInPlace(input.action.properties);
  return {
    template: 'authorization',
    instance: input.instance,
    dedupId: ctx.dedupId,
    receivedAt: ctx.receivedAt,
    config: ctx.config,
    subject: input.subject,
    action: input.action,
    decision,
  };
}

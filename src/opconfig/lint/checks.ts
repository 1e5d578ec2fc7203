// One check per resource kind. Each reports through a callback and none
// throws on bad input, so every problem in a folder is reported in one run.
import type protobuf from 'protobufjs';
import { parseGoDuration } from '../../common/go-duration.js';
import type { Resource } from '../load.js';
import type { Finding } from './findings.js';
import { checkKeys, jsonName } from './keys.js';
import { resourceName, type ResourceIndex } from './names.js';
import type { Decoded, TemplateSchema } from './schemas.js';
import { ValueType } from '../../generated/istio/policy/v1beta1/ValueType.js';
import type { TypeOf } from '../expr/index.js';
import { checkHandlerParams, checkInstanceExpressions, type Report as MixerReport } from './mixer-checks.js';
import { checkFilePath } from './data-dir.js';

/** What the checks share: every resource by name and the decoded descriptors. */
export interface LintContext {
  index: ResourceIndex;
  adapterParams(adapter: Resource): Decoded<protobuf.Type | undefined>;
  template(template: Resource): Decoded<TemplateSchema>;
  /** Attribute types from the linted attribute manifests; undefined when there are none. */
  typeOf: TypeOf | undefined;
  /** Sink types a handler may name: the built-ins and the plug-ins given with `lint --sink`. */
  sinkTypes: readonly string[];
  /** The adapter's data dir (absolute; `lint --data-dir`): file_path values outside it are warned about. Undefined: not checked. */
  dataDir: string | undefined;
}

/** Spec fields of each Mixer kind (proto names; lowerCamel is accepted too). */
export const SPEC_FIELDS: Readonly<Record<string, readonly string[]>> = {
  adapter: ['name', 'description', 'session_based', 'templates', 'config'],
  template: ['descriptor'],
  handler: ['name', 'adapter', 'params', 'connection', 'compiled_adapter'],
  instance: ['name', 'template', 'params', 'attribute_bindings', 'compiled_template'],
  rule: ['match', 'actions', 'request_header_operations', 'response_header_operations', 'sampling'],
  attributemanifest: ['revision', 'name', 'attributes'],
};
const CONNECTION_FIELDS = ['address', 'timeout', 'authentication'];
const ACTION_FIELDS = ['handler', 'instances', 'name'];

const NAME_IS_MIXERS = '`name` is filled in by Mixer (<instance>.instance.<namespace>) and cannot be configured';

type Report = MixerReport;

function reporter(r: Resource, out: Finding[]): Report {
  const resource = resourceName(r);
  return (severity, field, message) =>
    out.push({ severity, file: r.file, line: r.fieldLine(field), index: r.index, resource, field, message });
}

/** A spec value under its proto name or its JSON name. */
function get(obj: Record<string, unknown>, protoName: string): unknown {
  return obj[protoName] ?? obj[jsonName(protoName)];
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function checkFields(obj: Record<string, unknown>, allowed: readonly string[], at: string, report: Report): void {
  const names = new Set(allowed.flatMap((n) => [n, jsonName(n)]));
  for (const key of Object.keys(obj)) {
    if (!names.has(key)) report('error', `${at}.${key}`, `unknown key "${key}" (known: ${allowed.join(', ')})`);
  }
}

function isCompiled(spec: Record<string, unknown>, field: string): boolean {
  const v = get(spec, field);
  return typeof v === 'string' && v !== '';
}

export function checkAdapter(r: Resource, ctx: LintContext, report: Report): void {
  const sessionBased = get(r.spec, 'session_based');
  if (sessionBased === true) {
    report(
      'error',
      'spec.session_based',
      'must be false: with true, Mixer 1.4-1.6 drops adapter_config from every call and never opens a session',
    );
  }
  const params = ctx.adapterParams(r);
  if (!params.ok) report('error', 'spec.config', params.error);
  const templates = get(r.spec, 'templates');
  if (!Array.isArray(templates) || templates.length === 0) {
    report('error', 'spec.templates', 'expected a non-empty list of template names');
    return;
  }
  templates.forEach((t, i) => {
    if (typeof t !== 'string' || !ctx.index.resolve(t, 'template', r.namespace)) {
      report('error', `spec.templates[${i}]`, `template "${String(t)}" not found (Mixer drops the whole adapter)`);
    }
  });
}

export function checkTemplate(r: Resource, ctx: LintContext, report: Report): void {
  const schema = ctx.template(r);
  if (!schema.ok) report('error', 'spec.descriptor', schema.error);
}

function checkConnection(spec: Record<string, unknown>, report: Report): void {
  const connection = asRecord(get(spec, 'connection'));
  const address = connection ? get(connection, 'address') : undefined;
  if (typeof address !== 'string' || address.trim() === '') {
    report('error', 'spec.connection.address', 'missing: Mixer does not build a handler without an address');
  }
  if (!connection) return;
  checkFields(connection, CONNECTION_FIELDS, 'spec.connection', report);
  const timeout = get(connection, 'timeout');
  if (timeout === undefined || timeout === null) return;
  const nanos = typeof timeout === 'string' ? parseGoDuration(timeout) : undefined;
  if (nanos === undefined) {
    report(
      'error',
      'spec.connection.timeout',
      `expected a duration such as "5s" or "500ms", got ${JSON.stringify(timeout)}`,
    );
  } else if (nanos <= 0n) {
    report('warning', 'spec.connection.timeout', 'not positive: Mixer then sets no deadline');
  }
}

export function checkHandler(r: Resource, ctx: LintContext, report: Report): void {
  if (isCompiled(r.spec, 'compiled_adapter')) return; // an adapter built into Mixer: not ours to check
  checkConnection(r.spec, report);
  const ref = get(r.spec, 'adapter');
  if (typeof ref !== 'string' || ref === '') {
    report('error', 'spec.adapter', 'missing: name the kind: adapter resource');
    return;
  }
  const adapter = ctx.index.resolve(ref, 'adapter', r.namespace);
  if (!adapter) {
    report('error', 'spec.adapter', `adapter "${ref}" not found`);
    return;
  }
  const params = ctx.adapterParams(adapter);
  const given = get(r.spec, 'params');
  if (!params.ok || given === undefined || given === null) return; // a bad adapter is reported on the adapter
  if (params.value === undefined) {
    report('warning', 'spec.params', `adapter ${resourceName(adapter)} has no config: Mixer ignores these params`);
    return;
  }
  const keyProblems = checkKeys(given, params.value, 'spec.params');
  for (const p of keyProblems) report('error', p.field, p.message);
  if (keyProblems.length > 0) return;
  const config = checkHandlerParams(params.value, given, ctx.sinkTypes, report);
  if (config && ctx.dataDir !== undefined) {
    // The key as written (proto or JSON name), so the finding points at its line.
    const key = asRecord(given) && Object.hasOwn(asRecord(given)!, 'filePath') ? 'filePath' : 'file_path';
    checkFilePath(config, ctx.dataDir, `spec.params.${key}`, report);
  }
}

export function checkInstance(r: Resource, ctx: LintContext, report: Report): void {
  if (isCompiled(r.spec, 'compiled_template')) return;
  const ref = get(r.spec, 'template');
  if (typeof ref !== 'string' || ref === '') {
    report('error', 'spec.template', 'missing: name the kind: template resource');
    return;
  }
  const template = ctx.index.resolve(ref, 'template', r.namespace);
  if (!template) {
    report('error', 'spec.template', `template "${ref}" not found`);
    return;
  }
  const schema = ctx.template(template);
  if (!schema.ok) return; // reported on the template
  const reserved = new Map([['name', NAME_IS_MIXERS]]);
  const keyProblems = checkKeys(get(r.spec, 'params'), schema.value.instance, 'spec.params', { reserved });
  for (const p of keyProblems) report('error', p.field, p.message);
  if (keyProblems.length > 0) return;
  if (ctx.typeOf) checkInstanceExpressions(schema.value.package, get(r.spec, 'params'), ctx.typeOf, report);
  else report('warning', 'spec.params', 'expressions not checked: no kind: attributemanifest among the linted files');
}

/** The template resources an adapter serves (unresolvable entries are reported on the adapter). */
function servedTemplates(adapter: Resource, ctx: LintContext): Set<Resource> {
  const templates = get(adapter.spec, 'templates');
  const out = new Set<Resource>();
  if (!Array.isArray(templates)) return out;
  for (const t of templates) {
    const found = typeof t === 'string' ? ctx.index.resolve(t, 'template', adapter.namespace) : undefined;
    if (found) out.add(found);
  }
  return out;
}

export function checkRule(r: Resource, ctx: LintContext, report: Report): void {
  const actions = get(r.spec, 'actions');
  if (actions === undefined || actions === null) return;
  if (!Array.isArray(actions)) {
    report('error', 'spec.actions', 'expected a list');
    return;
  }
  actions.forEach((a, i) => {
    const at = `spec.actions[${i}]`;
    const action = asRecord(a);
    if (!action) {
      report('error', at, 'expected a mapping with handler and instances');
      return;
    }
    checkFields(action, ACTION_FIELDS, at, report);
    const handlerRef = get(action, 'handler');
    const handler = typeof handlerRef === 'string' ? ctx.index.resolve(handlerRef, 'handler', r.namespace) : undefined;
    if (!handler) report('error', `${at}.handler`, `handler "${String(handlerRef)}" not found`);
    const adapterRef = handler ? get(handler.spec, 'adapter') : undefined;
    const adapter =
      handler && typeof adapterRef === 'string'
        ? ctx.index.resolve(adapterRef, 'adapter', handler.namespace)
        : undefined;
    const served = adapter ? servedTemplates(adapter, ctx) : undefined;

    const instances = get(action, 'instances');
    if (!Array.isArray(instances) || instances.length === 0) {
      report('error', `${at}.instances`, 'expected a non-empty list of instance names');
      return;
    }
    const seen = new Set<string>();
    instances.forEach((ref, j) => {
      const where = `${at}.instances[${j}]`;
      const instance = typeof ref === 'string' ? ctx.index.resolve(ref, 'instance', r.namespace) : undefined;
      if (!instance) {
        report('error', where, `instance "${String(ref)}" not found`);
        return;
      }
      const name = resourceName(instance);
      if (seen.has(name)) report('error', where, `instance ${name} is listed twice in this action`);
      seen.add(name);
      const tRef = get(instance.spec, 'template');
      const template = typeof tRef === 'string' ? ctx.index.resolve(tRef, 'template', instance.namespace) : undefined;
      if (served && adapter && template && !served.has(template)) {
        report(
          'error',
          where,
          `instance ${name} is of template ${resourceName(template)}, which adapter ${resourceName(adapter)} does not list in spec.templates`,
        );
      }
    });
  });
}

const VALUE_TYPES = new Set<string>(Object.keys(ValueType));

export function checkAttributeManifest(r: Resource, _ctx: LintContext, report: Report): void {
  const attributes = get(r.spec, 'attributes');
  if (attributes === undefined || attributes === null) return;
  const byName = asRecord(attributes);
  if (!byName) {
    report('error', 'spec.attributes', 'expected a mapping of attribute name to {valueType}');
    return;
  }
  for (const [name, info] of Object.entries(byName)) {
    const at = `spec.attributes.${name}`;
    const fields = asRecord(info) ?? {};
    checkFields(fields, ['description', 'value_type'], at, report);
    const type = get(fields, 'value_type');
    if (typeof type !== 'string' || !VALUE_TYPES.has(type)) {
      report('error', `${at}.valueType`, `expected one of ${[...VALUE_TYPES].join(', ')}, got ${JSON.stringify(type)}`);
    }
  }
}

const BY_KIND: Readonly<Record<string, (r: Resource, ctx: LintContext, report: Report) => void>> = {
  adapter: checkAdapter,
  template: checkTemplate,
  handler: checkHandler,
  instance: checkInstance,
  rule: checkRule,
  attributemanifest: checkAttributeManifest,
};

/** All findings for one resource; kinds outside Mixer's config are skipped. */
export function checkResource(r: Resource, ctx: LintContext): Finding[] {
  const out: Finding[] = [];
  const allowed = SPEC_FIELDS[r.kind];
  if (allowed === undefined) return out;
  const report = reporter(r, out);
  if (!r.apiVersion.startsWith('config.istio.io/')) {
    report('warning', 'apiVersion', `expected config.istio.io/v1alpha2, got "${r.apiVersion}"`);
  }
  checkFields(r.spec, allowed, 'spec', report);
  BY_KIND[r.kind]?.(r, ctx, report);
  return out;
}

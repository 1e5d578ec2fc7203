// Instance params (YAML, expressions as strings) -> compiled builders that
// turn an attribute bag into the template's InstanceMsg, as plain objects
// for protobufjs (field names as in the .proto, keepCase).
import { compile, CompileError, evaluate, type Compiled, type TypeOf } from './expr/index.js';
import type { Bag } from './attributes.js';
import type { TypedValue } from './values.js';
import { jsonName } from './params-encoding.js';

export const TEMPLATES = { metric: 'REPORT', authorization: 'CHECK' } as const;
export type TemplateName = keyof typeof TEMPLATES;

export function isTemplate(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

/** A Value field: a YAML literal, or an expression whose type picks the oneof member. */
type ValueSource = { literal: TypedValue } | { expr: Compiled };

// Field shapes of each template's InstanceParam (contract §1.5).
type Shape = { [field: string]: 'value' | 'string' | 'valueMap' | Shape };

const SHAPES: Record<TemplateName, Shape> = {
  metric: {
    value: 'value',
    dimensions: 'valueMap',
    monitored_resource_type: 'string',
    monitored_resource_dimensions: 'valueMap',
  },
  authorization: {
    subject: { user: 'string', groups: 'string', properties: 'valueMap' },
    action: { namespace: 'string', service: 'string', method: 'string', path: 'string', properties: 'valueMap' },
  },
};

type CompiledField =
  | { kind: 'value'; source: ValueSource }
  | { kind: 'string'; expr: Compiled }
  | { kind: 'valueMap'; entries: Record<string, ValueSource> }
  | { kind: 'message'; tree: CompiledTree };
type CompiledTree = Record<string, CompiledField>;

export class InstanceConfigError extends Error {}

function valueSource(v: unknown, typeOf: TypeOf, where: string): ValueSource {
  if (typeof v === 'boolean') return { literal: { type: 'BOOL', value: v } };
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? { literal: { type: 'INT64', value: BigInt(v) } }
      : { literal: { type: 'DOUBLE', value: v } };
  }
  if (typeof v !== 'string')
    throw new InstanceConfigError(`${where}: expected an expression or a literal, got ${JSON.stringify(v)}`);
  const expr = compileAt(v, typeOf, where);
  if (expr.type === 'STRING_MAP') {
    throw new InstanceConfigError(`${where}: a STRING_MAP expression cannot fill a Value (Mixer rejects this too)`);
  }
  return { expr };
}

function compileAt(text: string, typeOf: TypeOf, where: string): Compiled {
  try {
    return compile(text, typeOf);
  } catch (err) {
    if (err instanceof CompileError) throw new InstanceConfigError(`${where}: ${err.message}`);
    throw err;
  }
}

function compileShape(shape: Shape, params: unknown, typeOf: TypeOf, where: string): CompiledTree {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new InstanceConfigError(`${where}: expected a mapping, got ${JSON.stringify(params)}`);
  }
  const out: CompiledTree = {};
  for (const [key, v] of Object.entries(params)) {
    const field = Object.keys(shape).find((f) => f === key || jsonName(f) === key);
    const at = `${where}.${key}`;
    if (!field)
      throw new InstanceConfigError(`${at}: unknown field (expected one of ${Object.keys(shape).join(', ')})`);
    const kind = shape[field];
    if (kind === 'value') out[field] = { kind, source: valueSource(v, typeOf, at) };
    else if (kind === 'string') {
      if (typeof v !== 'string')
        throw new InstanceConfigError(`${at}: expected a STRING expression, got ${JSON.stringify(v)}`);
      const expr = compileAt(v, typeOf, at);
      if (expr.type !== 'STRING')
        throw new InstanceConfigError(`${at}: expression ${JSON.stringify(v)} is ${expr.type}, the field needs STRING`);
      out[field] = { kind, expr };
    } else if (kind === 'valueMap') {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new InstanceConfigError(`${at}: expected a mapping`);
      const entries = Object.entries(v as Record<string, unknown>).map(
        ([k, x]) => [k, valueSource(x, typeOf, `${at}.${k}`)] as const,
      );
      out[field] = { kind, entries: Object.fromEntries(entries) };
    } else if (kind !== undefined) {
      out[field] = { kind: 'message', tree: compileShape(kind, v ?? {}, typeOf, at) };
    }
  }
  return out;
}

/** istio.policy.v1beta1.Value as a protobufjs plain object. */
export function valueObject(v: TypedValue): Record<string, unknown> {
  switch (v.type) {
    case 'STRING':
      return { string_value: v.value };
    case 'INT64':
      return { int64_value: v.value.toString() };
    case 'DOUBLE':
      return { double_value: v.value };
    case 'BOOL':
      return { bool_value: v.value };
    case 'IP_ADDRESS':
      return { ip_address_value: { value: v.value } };
    case 'TIMESTAMP':
      return { timestamp_value: { value: { seconds: v.value.seconds.toString(), nanos: v.value.nanos } } };
    case 'DURATION':
      return {
        duration_value: {
          value: { seconds: (v.value / 1_000_000_000n).toString(), nanos: Number(v.value % 1_000_000_000n) },
        },
      };
    case 'EMAIL_ADDRESS':
      return { email_address_value: { value: v.value } };
    case 'DNS_NAME':
      return { dns_name_value: { value: v.value } };
    case 'URI':
      return { uri_value: { value: v.value } };
    case 'STRING_MAP':
      return { string_map_value: { value: v.value } };
    default: {
      const unreachable: never = v;
      throw new Error(`unknown value ${JSON.stringify(unreachable)}`);
    }
  }
}

function valueOf(s: ValueSource, bag: Bag, typeOf: TypeOf): Record<string, unknown> {
  return valueObject('literal' in s ? s.literal : evaluate(s.expr, bag, typeOf));
}

function build(tree: CompiledTree, bag: Bag, typeOf: TypeOf): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(tree)) {
    switch (f.kind) {
      case 'value':
        out[name] = valueOf(f.source, bag, typeOf);
        break;
      case 'string':
        out[name] = evaluate(f.expr, bag, typeOf).value;
        break;
      case 'valueMap':
        out[name] = Object.fromEntries(Object.entries(f.entries).map(([k, s]) => [k, valueOf(s, bag, typeOf)]));
        break;
      case 'message': {
        const sub = build(f.tree, bag, typeOf);
        // An empty sub-message is absent on the wire, as Mixer sends it.
        if (Object.keys(sub).length > 0) out[name] = sub;
        break;
      }
      default: {
        const unreachable: never = f;
        throw new Error(`unknown field ${JSON.stringify(unreachable)}`);
      }
    }
  }
  return out;
}

export interface InstanceBuilder {
  /** `<name>.instance.<namespace>`, the name on the wire. */
  fullName: string;
  template: TemplateName;
  /** The InstanceMsg for this bag; throws EvalError when a needed attribute is missing. */
  build(bag: Bag): Record<string, unknown>;
}

export function instanceBuilder(
  fullName: string,
  template: TemplateName,
  params: unknown,
  typeOf: TypeOf,
): InstanceBuilder {
  const tree = compileShape(SHAPES[template], params ?? {}, typeOf, 'params');
  return { fullName, template, build: (bag) => ({ ...build(tree, bag, typeOf), name: fullName }) };
}

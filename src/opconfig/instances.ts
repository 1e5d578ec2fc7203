// Instance params (YAML, expressions as strings) -> compiled builders that
// turn an attribute bag into the bytes of the template's InstanceMsg, laid
// out as Mixer 1.6's dynamic encoder writes them (checked byte for byte
// against realmixer): fields by number, the instance name last, sub-messages
// and map entries with a two-byte length, Values minimal.
import { compile, CompileError, evaluate, EvalError, type Compiled, type TypeOf } from './expr/index.js';
import type { Bag } from './attributes.js';
import { isStringLike, type TypedValue } from './values.js';
import { jsonName } from './params-encoding.js';
import { WireWriter } from './wire-writer.js';

export const TEMPLATES = { metric: 'REPORT', authorization: 'CHECK' } as const;
export type TemplateName = keyof typeof TEMPLATES;

export function isTemplate(name: string): name is TemplateName {
  return Object.hasOwn(TEMPLATES, name);
}

/** Field number of `name` in every InstanceMsg (contract §0). */
const NAME_FIELD = 72295727;

/** A Value field: a YAML literal, or an expression whose type picks the oneof member. */
type ValueSource = { literal: TypedValue } | { expr: Compiled };
/** A string field: a quoted constant or a STRING expression. */
type StringSource = { literal: string } | { expr: Compiled };

// Field shapes of each template's InstanceParam, with field numbers (contract §1.5).
type Leaf = 'value' | 'string' | 'valueMap';
type Shape = { [field: string]: [number, Leaf | Shape] };

const SHAPES: Record<TemplateName, Shape> = {
  metric: {
    value: [1, 'value'],
    dimensions: [2, 'valueMap'],
    monitored_resource_type: [3, 'string'],
    monitored_resource_dimensions: [4, 'valueMap'],
  },
  authorization: {
    subject: [1, { user: [1, 'string'], groups: [2, 'string'], properties: [3, 'valueMap'] }],
    action: [
      2,
      {
        namespace: [1, 'string'],
        service: [2, 'string'],
        method: [3, 'string'],
        path: [4, 'string'],
        properties: [5, 'valueMap'],
      },
    ],
  },
};

type CompiledField =
  | { kind: 'value'; source: ValueSource }
  | { kind: 'string'; source: StringSource }
  | { kind: 'valueMap'; entries: [string, ValueSource][] }
  | { kind: 'message'; fields: CompiledTree };
/** Fields in field-number order, as Mixer writes them. */
type CompiledTree = { name: string; number: number; field: CompiledField }[];

export class InstanceConfigError extends Error {
  constructor(
    message: string,
    /** Valid for Mixer, outside what the stand-in evaluates. */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

/** Mixer reads 'x' and "x" (outer quotes of either kind) as the constant x, without unescaping. */
function quotedConstant(text: string): string | undefined {
  if (text.length < 2) return undefined;
  const q = text[0];
  return (q === '"' || q === "'") && text.endsWith(q) ? text.slice(1, -1) : undefined;
}

function valueSource(v: unknown, typeOf: TypeOf, where: string): ValueSource {
  if (typeof v === 'boolean') return { literal: { type: 'BOOL', value: v } };
  // spec.params is a google.protobuf.Struct: every YAML number is a double.
  if (typeof v === 'number') return { literal: { type: 'DOUBLE', value: v } };
  if (typeof v !== 'string')
    throw new InstanceConfigError(`${where}: expected an expression or a literal, got ${JSON.stringify(v)}`);
  const constant = quotedConstant(v);
  if (constant !== undefined) return { literal: { type: 'STRING', value: constant } };
  const expr = compileAt(v, typeOf, where);
  if (expr.type === 'STRING_MAP') {
    throw new InstanceConfigError(
      `${where}: expression ${JSON.stringify(v)} is STRING_MAP, which cannot fill a Value (Mixer: unsupported type: STRING_MAP)`,
    );
  }
  return { expr };
}

function compileAt(text: string, typeOf: TypeOf, where: string): Compiled {
  try {
    return compile(text, typeOf);
  } catch (err) {
    if (err instanceof CompileError) throw new InstanceConfigError(`${where}: ${err.message}`, err.unsupported);
    throw err;
  }
}

function stringSource(v: unknown, typeOf: TypeOf, where: string): StringSource {
  if (typeof v !== 'string')
    throw new InstanceConfigError(`${where}: expected a STRING expression, got ${JSON.stringify(v)}`);
  const constant = quotedConstant(v);
  if (constant !== undefined) return { literal: constant };
  const expr = compileAt(v, typeOf, where);
  if (expr.type !== 'STRING')
    throw new InstanceConfigError(`${where}: expression ${JSON.stringify(v)} is ${expr.type}, the field needs STRING`);
  return { expr };
}

/** Runs `compileOne`; an InstanceConfigError goes to `problems` instead (so all of them are found). */
function collect<T>(problems: InstanceConfigError[], compileOne: () => T): T | undefined {
  try {
    return compileOne();
  } catch (err) {
    if (!(err instanceof InstanceConfigError)) throw err;
    problems.push(err);
    return undefined;
  }
}

function compileShape(
  shape: Shape,
  params: unknown,
  typeOf: TypeOf,
  where: string,
  problems: InstanceConfigError[],
): CompiledTree {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    problems.push(new InstanceConfigError(`${where}: expected a mapping, got ${JSON.stringify(params)}`));
    return [];
  }
  const out: CompiledTree = [];
  // Keys are compiled in sorted order, as Mixer does, so the first error is the one Mixer reports.
  for (const [key, v] of Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = Object.keys(shape).find((f) => f === key || jsonName(f) === key);
    const at = `${where}.${key}`;
    if (!name) {
      problems.push(new InstanceConfigError(`${at}: unknown field (expected one of ${Object.keys(shape).join(', ')})`));
      continue;
    }
    const [number, kind] = shape[name] as [number, Leaf | Shape];
    let field: CompiledField | undefined;
    if (kind === 'value') {
      const source = collect(problems, () => valueSource(v, typeOf, at));
      if (source) field = { kind, source };
    } else if (kind === 'string') {
      const source = collect(problems, () => stringSource(v, typeOf, at));
      if (source) field = { kind, source };
    } else if (kind === 'valueMap') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        problems.push(new InstanceConfigError(`${at}: expected a mapping`));
        continue;
      }
      const entries: [string, ValueSource][] = [];
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const source = collect(problems, () => valueSource(x, typeOf, `${at}.${k}`));
        if (source) entries.push([k, source]);
      }
      field = { kind, entries };
    } else field = { kind: 'message', fields: compileShape(kind, v ?? {}, typeOf, at, problems) };
    if (field) out.push({ name, number, field });
  }
  return out.sort((a, b) => a.number - b.number);
}

/**
 * Every problem Mixer (or the stand-in) has with an instance's params of
 * `template`, each naming its field (`params.dimensions.x: ...`). The linter
 * and the stand-in share this check.
 */
export function instanceProblems(template: TemplateName, params: unknown, typeOf: TypeOf): InstanceConfigError[] {
  const problems: InstanceConfigError[] = [];
  compileShape(SHAPES[template], params ?? {}, typeOf, 'params', problems);
  return problems;
}

/** google.protobuf.Duration / Timestamp: zero fields left out, as gogo writes them. */
function secondsNanos(seconds: bigint, nanos: number): Uint8Array {
  const w = new WireWriter();
  if (seconds !== 0n) w.varintField(1, seconds);
  if (nanos !== 0) w.varintField(2, nanos);
  return w.finish();
}

/** A one-field wrapper message (IPAddress, DNSName, ...): its field left out when empty. */
function wrapper(inner: Uint8Array): Uint8Array {
  return inner.length === 0 ? new Uint8Array(0) : new WireWriter().bytesField(1, inner).finish();
}

/** istio.policy.v1beta1.Value bytes; the oneof member is always written, even when zero. */
export function encodeValue(v: TypedValue): Buffer {
  const w = new WireWriter();
  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  switch (v.type) {
    case 'STRING':
      return w.stringField(1, v.value).finish();
    case 'INT64':
      return w.varintField(2, v.value).finish();
    case 'DOUBLE':
      return w.doubleField(3, v.value).finish();
    case 'BOOL':
      return w.varintField(4, v.value ? 1 : 0).finish();
    case 'IP_ADDRESS':
      return w.bytesField(5, wrapper(v.value)).finish();
    case 'TIMESTAMP':
      return w.bytesField(6, wrapper(secondsNanos(v.value.seconds, v.value.nanos))).finish();
    case 'DURATION': {
      const nanos = Number(v.value % 1_000_000_000n);
      return w.bytesField(7, wrapper(secondsNanos(v.value / 1_000_000_000n, nanos))).finish();
    }
    case 'EMAIL_ADDRESS':
      return w.bytesField(8, wrapper(utf8(v.value))).finish();
    case 'DNS_NAME':
      return w.bytesField(9, wrapper(utf8(v.value))).finish();
    case 'URI':
      return w.bytesField(10, wrapper(utf8(v.value))).finish();
    case 'STRING_MAP':
      // Rejected when the config is read (valueSource); Mixer has no encoder for it either.
      throw new EvalError('unsupported type: STRING_MAP');
    default: {
      const unreachable: never = v;
      throw new Error(`unknown value ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A STRING field's value (the type checker guarantees a string-like result). */
function stringOf(v: TypedValue): string {
  if (!isStringLike(v.type)) throw new EvalError(`expected a STRING, got ${v.type}`);
  return v.value as string;
}

function valueOf(s: ValueSource, bag: Bag, typeOf: TypeOf): TypedValue {
  return 'literal' in s ? s.literal : evaluate(s.expr, bag, typeOf);
}

/** Mixer names the field each error passed through: `fieldEncoder: dimensions - fieldEncoder: value - ...`. */
function inField<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof EvalError) throw new EvalError(`fieldEncoder: ${name} - ${err.message}`);
    throw err;
  }
}

function encodeTree(tree: CompiledTree, bag: Bag, typeOf: TypeOf, w: WireWriter): void {
  for (const { name, number, field: f } of tree) {
    inField(name, () => {
      switch (f.kind) {
        case 'value':
          w.bytesField(number, encodeValue(valueOf(f.source, bag, typeOf)));
          break;
        case 'string':
          w.stringField(
            number,
            'literal' in f.source ? f.source.literal : stringOf(evaluate(f.source.expr, bag, typeOf)),
          );
          break;
        case 'valueMap':
          for (const [key, source] of f.entries) {
            const entry = new WireWriter().stringField(1, key);
            inField('value', () => entry.bytesField(2, encodeValue(valueOf(source, bag, typeOf))));
            w.paddedField(number, entry.finish());
          }
          break;
        case 'message': {
          // A block present in the config is sent present, even when empty (`subject: {}`).
          const sub = new WireWriter();
          encodeTree(f.fields, bag, typeOf, sub);
          w.paddedField(number, sub.finish());
          break;
        }
        default: {
          const unreachable: never = f;
          throw new Error(`unknown field ${JSON.stringify(unreachable)}`);
        }
      }
    });
  }
}

export interface InstanceBuilder {
  /** `<name>.instance.<namespace>`, the name on the wire. */
  fullName: string;
  template: TemplateName;
  /** The InstanceMsg bytes for this bag; throws EvalError (Mixer's message) when it cannot be built. */
  build(bag: Bag): Buffer;
}

export function instanceBuilder(
  fullName: string,
  template: TemplateName,
  params: unknown,
  typeOf: TypeOf,
): InstanceBuilder {
  const problems: InstanceConfigError[] = [];
  const tree = compileShape(SHAPES[template], params ?? {}, typeOf, 'params', problems);
  if (problems.length > 0) throw new InstanceConfigError(problems.map((p) => p.message).join('; '));
  return {
    fullName,
    template,
    build: (bag) => {
      const w = new WireWriter();
      encodeTree(tree, bag, typeOf, w);
      return w.stringField(NAME_FIELD, fullName).finish();
    },
  };
}

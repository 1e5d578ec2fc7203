// Evaluation over one attribute bag. A missing attribute (or map key) is not
// an error by itself: it travels up as `missing` until a `|` supplies the
// fallback; only a missing value at the top is an error, as in Mixer.
import { isIP } from 'node:net';
import { fromBag, type Bag } from '../attributes.js';
import { ipBytes, isStringLike, valuesEqual, type TypedValue } from '../values.js';
import type { FunctionName, Node } from './ast.js';
import { parseRfc3339 } from '../time.js';
import type { TypeOf } from './check.js';

export class EvalError extends Error {}

type Result = { ok: true; value: TypedValue } | { ok: false; missing: string };

function ok(value: TypedValue): Result {
  return { ok: true, value };
}

/** Mixer's match(): "abc*" is a prefix test, "*abc" a suffix test, anything else equality. */
export function globMatch(str: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return str.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return str.endsWith(pattern.slice(1));
  return str === pattern;
}

/** Go's net.ParseIP: IPv4 comes back in its 16-byte IPv4-mapped form. */
export function parseIp(text: string): Uint8Array {
  const family = isIP(text);
  if (family === 0) throw new EvalError(`could not convert ${text} to IP_ADDRESS`);
  const b = ipBytes(text);
  if (family === 6) return b;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(b, 12);
  return out;
}

/** Mixer's conversion functions; the error texts are Mixer's (checked with realmixer). */
function callFunction(fn: FunctionName, args: string[]): TypedValue {
  const s = args[0] ?? '';
  switch (fn) {
    case 'match':
      return { type: 'BOOL', value: globMatch(s, args[1] ?? '') };
    case 'ip':
      return { type: 'IP_ADDRESS', value: parseIp(s) };
    case 'timestamp': {
      const t = parseRfc3339(s);
      if (!t)
        throw new EvalError(`could not convert '${s}' to TIMESTAMP. expected format: '2006-01-02T15:04:05Z07:00'`);
      return { type: 'TIMESTAMP', value: t };
    }
    case 'email':
      if (/[<>]/.test(s)) throw new EvalError(`error converting '${s}' to e-mail: display names are not allowed`);
      if (!/^[^\s@]+@[^\s@]+$/.test(s))
        throw new EvalError(`error converting '${s}' to e-mail: 'mail: missing '@' or angle-addr'`);
      return { type: 'EMAIL_ADDRESS', value: s };
    case 'dnsName': {
      const labels = s.replace(/\.$/, '').split('.');
      if (s === '' || labels.some((l) => l === ''))
        throw new EvalError(`error converting '${s}' to dns name: 'idna: invalid label "${s}"'`);
      const bad = labels.find((l) => l.startsWith('-') || l.endsWith('-') || !/^[\p{L}\p{N}_-]+$/u.test(l));
      if (bad !== undefined) throw new EvalError(`error converting '${s}' to dns name: 'idna: invalid label "${bad}"'`);
      return { type: 'DNS_NAME', value: s };
    }
    case 'uri':
      if (s.startsWith(':'))
        throw new EvalError(`error converting string to uri '${s}': 'parse "${s}": missing protocol scheme'`);
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x1f\x7f]/.test(s))
        throw new EvalError(
          `error converting string to uri '${s}': 'parse "${s}": net/url: invalid control character in URL'`,
        );
      return { type: 'URI', value: s };
    default: {
      const unreachable: never = fn;
      throw new EvalError(`unknown function ${String(unreachable)}`);
    }
  }
}

/** How a missing value is named in messages: `request.headers["x"]`. */
function name(node: Node): string {
  if (node.kind === 'attr') return node.name;
  if (node.kind === 'index') {
    const key =
      node.key.kind === 'literal' && node.key.value.type === 'STRING' ? JSON.stringify(node.key.value.value) : '...';
    return `${name(node.target)}[${key}]`;
  }
  return 'value';
}

function run(node: Node, bag: Bag, typeOf: TypeOf): Result {
  switch (node.kind) {
    case 'attr': {
      const v = bag.get(node.name);
      if (v === undefined) return { ok: false, missing: node.name };
      const type = typeOf(node.name);
      if (!type) throw new EvalError(`unknown attribute ${node.name}`);
      const seen = fromBag(v, type);
      if ('error' in seen) throw new EvalError(seen.error);
      return ok(seen);
    }
    case 'literal':
      return ok(node.value);
    case 'index': {
      const target = run(node.target, bag, typeOf);
      if (!target.ok) return target;
      const key = run(node.key, bag, typeOf);
      if (!key.ok) return key;
      if (target.value.type !== 'STRING_MAP' || key.value.type !== 'STRING')
        throw new EvalError('index: type mismatch');
      const v = target.value.value[key.value.value];
      return v === undefined ? { ok: false, missing: name(node) } : ok({ type: 'STRING', value: v });
    }
    case 'not': {
      const v = run(node.operand, bag, typeOf);
      return v.ok ? ok({ type: 'BOOL', value: !v.value.value }) : v;
    }
    case 'binary': {
      const left = run(node.left, bag, typeOf);
      if (node.op === '|') return left.ok ? left : run(node.right, bag, typeOf);
      if (!left.ok) return left;
      if (node.op === '&&' && left.value.value === false) return left;
      if (node.op === '||' && left.value.value === true) return left;
      const right = run(node.right, bag, typeOf);
      if (!right.ok) return right;
      switch (node.op) {
        case '&&':
        case '||':
          return right;
        case '==':
          return ok({ type: 'BOOL', value: valuesEqual(left.value, right.value) });
        case '!=':
          return ok({ type: 'BOOL', value: !valuesEqual(left.value, right.value) });
        default: {
          const unreachable: never = node.op;
          throw new EvalError(`unknown operator ${String(unreachable)}`);
        }
      }
    }
    case 'call': {
      const args: string[] = [];
      for (const a of node.args) {
        const v = run(a, bag, typeOf);
        if (!v.ok) return v;
        if (!isStringLike(v.value.type)) throw new EvalError(`${node.fn}(): arguments must be strings`);
        args.push(v.value.value as string);
      }
      return ok(callFunction(node.fn, args));
    }
    default: {
      const unreachable: never = node;
      throw new EvalError(`unknown node ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The value of `node` over `bag`; throws EvalError when a needed attribute is missing. */
export function evaluateNode(node: Node, bag: Bag, typeOf: TypeOf): TypedValue {
  const r = run(node, bag, typeOf);
  if (!r.ok) throw new EvalError(`lookup failed: '${r.missing}'`);
  return r.value;
}

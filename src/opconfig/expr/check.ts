// Static typing against the attribute manifest, as Mixer does when it
// accepts config: every attribute must be declared and operand types match.
import type { FunctionName, Node } from './ast.js';
import { ExprError } from './lexer.js';
import { isStringLike, type ValueType } from '../values.js';

const FUNCTION_TYPES: Record<FunctionName, ValueType> = {
  match: 'BOOL',
  ip: 'IP_ADDRESS',
  timestamp: 'TIMESTAMP',
  email: 'EMAIL_ADDRESS',
  dnsName: 'DNS_NAME',
  uri: 'URI',
};

export type TypeOf = (attribute: string) => ValueType | undefined;

export function typeOfNode(node: Node, typeOf: TypeOf): ValueType {
  switch (node.kind) {
    case 'attr': {
      const t = typeOf(node.name);
      if (!t) throw new ExprError(`unknown attribute ${node.name} (not in the attribute manifest)`, node.pos);
      return t;
    }
    case 'literal':
      return node.value.type;
    case 'index': {
      const target = typeOfNode(node.target, typeOf);
      if (target !== 'STRING_MAP')
        throw new ExprError(`only STRING_MAP values can be indexed, this is ${target}`, node.pos);
      const key = typeOfNode(node.key, typeOf);
      if (key !== 'STRING') throw new ExprError(`a map key must be STRING, got ${key}`, node.key.pos);
      return 'STRING';
    }
    case 'not': {
      const t = typeOfNode(node.operand, typeOf);
      if (t !== 'BOOL') throw new ExprError(`"!" needs a BOOL operand, got ${t}`, node.pos);
      return 'BOOL';
    }
    case 'binary': {
      const l = typeOfNode(node.left, typeOf);
      const r = typeOfNode(node.right, typeOf);
      switch (node.op) {
        case '|':
          if (l !== r) throw new ExprError(`both sides of "|" must have the same type, got ${l} and ${r}`, node.pos);
          return l;
        case '==':
        case '!=':
          if (l !== r) throw new ExprError(`cannot compare ${l} with ${r} using "${node.op}"`, node.pos);
          return 'BOOL';
        case '&&':
        case '||':
          if (l !== 'BOOL' || r !== 'BOOL') {
            throw new ExprError(`"${node.op}" needs BOOL operands, got ${l} and ${r}`, node.pos);
          }
          return 'BOOL';
        default: {
          const unreachable: never = node.op;
          throw new ExprError(`unknown operator ${String(unreachable)}`, node.pos);
        }
      }
    }
    case 'call': {
      const args = node.args.map((a) => typeOfNode(a, typeOf));
      args.forEach((t, i) => {
        if (!isStringLike(t))
          throw new ExprError(`${node.fn}() argument ${i + 1} must be STRING, got ${t}`, node.args[i]?.pos ?? node.pos);
      });
      return FUNCTION_TYPES[node.fn];
    }
    default: {
      const unreachable: never = node;
      throw new Error(`unknown node ${JSON.stringify(unreachable)}`);
    }
  }
}

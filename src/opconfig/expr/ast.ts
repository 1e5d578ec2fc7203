// The parsed form of an expression. `pos` is the 0-based offset of the node's
// first character, for error messages.
import type { TypedValue } from '../values.js';

export type BinaryOp = '|' | '||' | '&&' | '==' | '!=';
export type FunctionName = 'match' | 'ip' | 'timestamp' | 'email' | 'dnsName' | 'uri';

export type Node =
  | { kind: 'attr'; name: string; pos: number }
  | { kind: 'literal'; value: TypedValue; pos: number }
  | { kind: 'index'; target: Node; key: Node; pos: number }
  | { kind: 'not'; operand: Node; pos: number }
  | { kind: 'binary'; op: BinaryOp; left: Node; right: Node; pos: number }
  | { kind: 'call'; fn: FunctionName; args: Node[]; pos: number };

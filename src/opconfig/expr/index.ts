// compile() = parse + type check once per config; evaluate() per attribute bag.
import type { Bag } from '../attributes.js';
import type { TypedValue, ValueType } from '../values.js';
import type { Node } from './ast.js';
import { typeOfNode, type TypeOf } from './check.js';
import { evaluateNode, EvalError } from './evaluate.js';
import { ExprError } from './lexer.js';
import { parseExpression } from './parser.js';

export { EvalError, ExprError, type TypeOf };

export interface Compiled {
  text: string;
  node: Node;
  type: ValueType;
}

/** Thrown for an expression that cannot be used; the message quotes it and points at the column. */
export class CompileError extends Error {
  constructor(
    message: string,
    /** The expression is valid for Mixer but outside the stand-in's subset. */
    readonly unsupported = false,
  ) {
    super(message);
  }
}

export function compile(text: string, typeOf: TypeOf): Compiled {
  try {
    const node = parseExpression(text);
    return { text, node, type: typeOfNode(node, typeOf) };
  } catch (err) {
    if (err instanceof ExprError)
      throw new CompileError(`expression ${JSON.stringify(text)}: ${err.message}`, err.unsupported);
    throw err;
  }
}

export function evaluate(c: Compiled, bag: Bag, typeOf: TypeOf): TypedValue {
  return evaluateNode(c.node, bag, typeOf);
}

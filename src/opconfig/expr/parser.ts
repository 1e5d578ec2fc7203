// Recursive descent with Go's precedences (Mixer parses with go/parser):
// || < && < == != < | (fallback, Go's additive level) < unary ! < index.
import type { BinaryOp, FunctionName, Node } from './ast.js';
import { ExprError, SUPPORTED_FUNCTIONS, tokenize, type Op, type Token } from './lexer.js';
import { parseGoDuration } from '../../common/go-duration.js';
import type { TypedValue } from '../values.js';

const FUNCTIONS: Record<FunctionName, number> = { match: 2, ip: 1, timestamp: 1, email: 1, dnsName: 1, uri: 1 };

const INT64_MAX = 2n ** 63n - 1n;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] ?? { kind: 'eof', pos: 0 };
  }

  private isOp(text: Op): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expect(text: Op, what: string): void {
    if (!this.isOp(text))
      throw new ExprError(`expected "${text}" ${what}, found ${describe(this.peek())}`, this.peek().pos);
    this.i++;
  }

  parse(): Node {
    const node = this.binary(0);
    const t = this.peek();
    if (t.kind !== 'eof') throw new ExprError(`unexpected ${describe(t)} after a complete expression`, t.pos);
    return node;
  }

  private static readonly LEVELS: readonly (readonly BinaryOp[])[] = [['||'], ['&&'], ['==', '!='], ['|']];

  private binary(level: number): Node {
    const ops = Parser.LEVELS[level];
    if (!ops) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || !(ops as readonly string[]).includes(t.text)) return left;
      this.i++;
      const right = this.binary(level + 1);
      left = { kind: 'binary', op: t.text as BinaryOp, left, right, pos: t.pos };
    }
  }

  private unary(): Node {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '!') {
      this.i++;
      return { kind: 'not', operand: this.unary(), pos: t.pos };
    }
    if (t.kind === 'op' && t.text === '-') {
      this.i++;
      const n = this.peek();
      if (n.kind !== 'int' && n.kind !== 'float') {
        throw new ExprError('unary "-" is only supported before a number literal', t.pos, true);
      }
      this.i++;
      return number(n, '-', t.pos);
    }
    return this.postfix();
  }

  private postfix(): Node {
    let node = this.primary();
    while (this.isOp('[')) {
      const open = this.peek().pos;
      this.i++;
      const key = this.binary(0);
      this.expect(']', 'to close the index');
      node = { kind: 'index', target: node, key, pos: open };
    }
    return node;
  }

  private primary(): Node {
    const t = this.peek();
    this.i++;
    switch (t.kind) {
      case 'string': {
        // Mixer reads a string literal that parses as a Go duration ("10ms") as a DURATION constant.
        const nanos = parseGoDuration(t.value);
        const value: TypedValue =
          nanos === undefined ? { type: 'STRING', value: t.value } : { type: 'DURATION', value: nanos };
        return { kind: 'literal', value, pos: t.pos };
      }
      case 'int':
      case 'float':
        return number(t, '', t.pos);
      case 'ident':
        if (this.isOp('(')) return this.call(t.text, t.pos);
        if (t.text === 'true' || t.text === 'false') {
          return { kind: 'literal', value: { type: 'BOOL', value: t.text === 'true' }, pos: t.pos };
        }
        return { kind: 'attr', name: t.text, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          const inner = this.binary(0);
          this.expect(')', 'to close "("');
          return inner;
        }
        throw new ExprError(`unexpected ${describe(t)}`, t.pos);
      case 'eof':
        throw new ExprError('unexpected end of expression', t.pos);
      default: {
        const unreachable: never = t;
        throw new Error(`unknown token ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private call(name: string, pos: number): Node {
    if (!Object.hasOwn(FUNCTIONS, name)) {
      throw new ExprError(`function ${name}() is not supported (supported: ${SUPPORTED_FUNCTIONS})`, pos, true);
    }
    const fn = name as FunctionName;
    this.expect('(', 'after the function name');
    const args: Node[] = [];
    if (!this.isOp(')')) {
      args.push(this.binary(0));
      while (this.isOp(',')) {
        this.i++;
        args.push(this.binary(0));
      }
    }
    this.expect(')', `to close ${fn}(`);
    if (args.length !== FUNCTIONS[fn]) {
      throw new ExprError(`${fn}() takes ${FUNCTIONS[fn]} argument(s), got ${args.length}`, pos);
    }
    return { kind: 'call', fn, args, pos };
  }
}

function number(t: Token & { kind: 'int' | 'float' }, sign: '' | '-', pos: number): Node {
  if (t.kind === 'float') return { kind: 'literal', value: { type: 'DOUBLE', value: Number(sign + t.text) }, pos };
  const v = BigInt(sign + t.text);
  if (v > INT64_MAX || v < -INT64_MAX - 1n) throw new ExprError(`integer ${sign}${t.text} does not fit in INT64`, pos);
  return { kind: 'literal', value: { type: 'INT64', value: v }, pos };
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of expression';
    case 'op':
      return `"${t.text}"`;
    case 'ident':
      return `name ${t.text}`;
    case 'string':
      return `string ${JSON.stringify(t.value)}`;
    case 'int':
    case 'float':
      return `number ${t.text}`;
    default: {
      const unreachable: never = t;
      return String(unreachable);
    }
  }
}

export function parseExpression(text: string): Node {
  if (text.trim() === '') throw new ExprError('empty expression', 0);
  return new Parser(tokenize(text)).parse();
}

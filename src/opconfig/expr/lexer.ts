// Tokens of the expression subset. Mixer parses expressions with Go's parser,
// so literals follow Go: "double-quoted" or `raw` strings, decimal numbers.

/** For messages: the functions the stand-in evaluates. */
export const SUPPORTED_FUNCTIONS = 'match(), ip(), timestamp(), email(), dnsName(), uri()';

export class ExprError extends Error {
  constructor(
    readonly detail: string,
    /** 0-based offset into the expression text. */
    readonly pos: number,
    /** Valid for Mixer but outside the subset the stand-in evaluates (not a config error). */
    readonly unsupported = false,
  ) {
    super(`${detail} (at column ${pos + 1})`);
  }
}

export type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'int'; text: string; pos: number }
  | { kind: 'float'; text: string; pos: number }
  | { kind: 'op'; text: Op; pos: number }
  | { kind: 'eof'; pos: number };

const OPS = ['||', '&&', '==', '!=', '|', '!', '(', ')', '[', ']', ',', '-'] as const;
export type Op = (typeof OPS)[number];

// Go operators this subset does not implement, longest first so "<=" wins over "<".
const UNSUPPORTED = [
  '<<',
  '>>',
  '<=',
  '>=',
  '&^',
  '=~',
  '<',
  '>',
  '+',
  '*',
  '/',
  '%',
  '&',
  '^',
  '=',
  '.',
  '{',
  '}',
  ':',
];

const IDENT = /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/y;
const NUMBER = /(\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)|(\d+)/y;

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  '"': '"',
  "'": "'",
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

function readString(text: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '"') return { value, end: i + 1 };
    if (c === '\n') break;
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = text.charAt(i + 1);
    const simple = ESCAPES[e];
    if (simple !== undefined) {
      value += simple;
      i += 2;
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = text.slice(i + 2, i + 2 + hexLen);
    if (hexLen === 0 || !new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) {
      throw new ExprError(`invalid escape \\${e} in string literal`, i);
    }
    value += String.fromCodePoint(parseInt(hex, 16));
    i += 2 + hexLen;
  }
  throw new ExprError('string literal not terminated', start);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(text);
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: i });
      i += ident[0].length;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (num) {
      tokens.push(
        num[1] !== undefined ? { kind: 'float', text: num[0], pos: i } : { kind: 'int', text: num[0], pos: i },
      );
      i += num[0].length;
      continue;
    }
    if (c === '"') {
      const s = readString(text, i);
      tokens.push({ kind: 'string', value: s.value, pos: i });
      i = s.end;
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new ExprError('raw string literal not terminated', i);
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (c === "'") throw new ExprError('single-quoted (character) literals are not supported; use "..."', i, true);
    const op = OPS.find((o) => text.startsWith(o, i));
    const bad = UNSUPPORTED.find((o) => text.startsWith(o, i));
    // "|" vs "||" etc.: the longest match decides between a supported and an unsupported operator.
    if (op && (!bad || op.length >= bad.length)) {
      tokens.push({ kind: 'op', text: op, pos: i });
      i += op.length;
      continue;
    }
    if (bad) {
      throw new ExprError(
        `operator "${bad}" is not supported (supported: | || && == != ! and ${SUPPORTED_FUNCTIONS})`,
        i,
        true,
      );
    }
    throw new ExprError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  tokens.push({ kind: 'eof', pos: text.length });
  return tokens;
}

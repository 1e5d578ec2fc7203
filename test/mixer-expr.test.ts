import { describe, expect, it } from 'vitest';
import { bagFromFlags } from '../src/opconfig/attributes.js';
import { compile, CompileError, evaluate, EvalError } from '../src/opconfig/expr/index.js';
import { globMatch } from '../src/opconfig/expr/evaluate.js';
import type { TypedValue, ValueType } from '../src/opconfig/values.js';

const manifest: Record<string, ValueType> = {
  'request.size': 'INT64',
  'request.headers': 'STRING_MAP',
  'request.path': 'STRING',
  'destination.service': 'STRING',
  'destination.service.host': 'DNS_NAME',
  'source.ip': 'IP_ADDRESS',
  'connection.mtls': 'BOOL',
  'request.ratio': 'DOUBLE',
  'response.code': 'INT64',
};
const typeOf = (n: string): ValueType | undefined => manifest[n];

const bag = bagFromFlags({
  string_attributes: ['destination.service=svc.cluster.local,request.path=/api/v1/users,destination.service.host=a.b'],
  int64_attributes: ['request.size=1235'],
  bool_attributes: ['connection.mtls=true'],
  bytes_attributes: ['source.ip=ac:11:0:3'],
  stringmap_attributes: ['request.headers=x-custom-token:abc'],
});

const run = (text: string, b = bag): TypedValue => evaluate(compile(text, typeOf), b, typeOf);

describe('expression evaluator', () => {
  it.each<[string, TypedValue]>([
    ['request.size', { type: 'INT64', value: 1235n }],
    ['request.size | 0', { type: 'INT64', value: 1235n }],
    ['response.code | 7', { type: 'INT64', value: 7n }],
    ['200', { type: 'INT64', value: 200n }],
    ['-3', { type: 'INT64', value: -3n }],
    ['1.5', { type: 'DOUBLE', value: 1.5 }],
    ['request.ratio | 2.5', { type: 'DOUBLE', value: 2.5 }],
    ['true', { type: 'BOOL', value: true }],
    ['"myservice"', { type: 'STRING', value: 'myservice' }],
    ['`raw\\n`', { type: 'STRING', value: 'raw\\n' }],
    ['"a\\"b\\u00e9"', { type: 'STRING', value: 'a"bé' }],
    ['request.headers["x-custom-token"]', { type: 'STRING', value: 'abc' }],
    ['request.headers["x-other"] | ""', { type: 'STRING', value: '' }],
    ['request.headers["x-other"] | request.headers["x-custom-token"] | "d"', { type: 'STRING', value: 'abc' }],
    ['destination.service == "svc.cluster.local"', { type: 'BOOL', value: true }],
    ['destination.service != "svc.cluster.local"', { type: 'BOOL', value: false }],
    ['request.size == 1235 && connection.mtls', { type: 'BOOL', value: true }],
    ['request.size == 1 || !connection.mtls', { type: 'BOOL', value: false }],
    ['!(request.size == 1)', { type: 'BOOL', value: true }],
    // `|` binds tighter than `==`, as Go's `|`.
    ['request.headers["nope"] | "abc" == "abc"', { type: 'BOOL', value: true }],
    ['match(request.path, "/api/*")', { type: 'BOOL', value: true }],
    ['match(destination.service, "*.cluster.local")', { type: 'BOOL', value: true }],
    ['match(destination.service, "svc")', { type: 'BOOL', value: false }],
    ['match(destination.service.host, "a.*")', { type: 'BOOL', value: true }],
    ['source.ip == ip("172.17.0.3")', { type: 'BOOL', value: true }],
    ['source.ip == ip("172.17.0.4")', { type: 'BOOL', value: false }],
    // Short-circuit: the right side is never looked up.
    ['connection.mtls || request.headers["nothere"] == "x"', { type: 'BOOL', value: true }],
  ])('%s', (text, expected) => {
    expect(run(text)).toEqual(expected);
  });

  it('ip() gives the 16-byte form of an IPv4 address, like Go net.ParseIP', () => {
    expect(run('ip("1.2.3.4")')).toEqual({
      type: 'IP_ADDRESS',
      value: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4]),
    });
    expect(() => run('ip("nope")')).toThrow(EvalError);
  });

  it('fails on a missing attribute without fallback, naming it', () => {
    expect(() => run('request.size', new Map())).toThrow("lookup failed: 'request.size'");
    expect(() => run('request.headers["x-other"]')).toThrow(`lookup failed: 'request.headers["x-other"]'`);
    expect(() => run('request.size == 3', new Map())).toThrow(EvalError);
  });

  it('implements Mixer glob rules', () => {
    expect(globMatch('abc', 'ab*')).toBe(true);
    expect(globMatch('abc', '*bc')).toBe(true);
    expect(globMatch('abc', '*')).toBe(true);
    expect(globMatch('abc', 'a*c')).toBe(false);
  });
});

describe('expression errors', () => {
  it.each([
    ['request.size > 3', 'operator ">" is not supported', 14],
    ['request.size + 1', 'operator "+" is not supported', 14],
    ['destination.service =~ "x"', 'operator "=~" is not supported', 21],
    ["'x'", 'single-quoted (character) literals are not supported', 1],
    ['size(request.path)', 'function size() is not supported', 1],
    ['request.path.startsWith("/a")', 'function request.path.startsWith() is not supported', 1],
    ['"abc', 'string literal not terminated', 1],
    ['request.size ==', 'unexpected end of expression', 16],
    ['(request.size', 'expected ")" to close "("', 14],
    ['request.size 3', 'unexpected number 3 after a complete expression', 14],
    ['match(request.path)', 'match() takes 2 argument(s), got 1', 1],
    ['nope.attr', 'unknown attribute nope.attr', 1],
    ['request.size == "a"', 'cannot compare INT64 with STRING', 14],
    ['request.size | ""', 'both sides of "|" must have the same type, got INT64 and STRING', 14],
    ['request.path["x"]', 'only STRING_MAP values can be indexed, this is STRING', 13],
    ['request.headers[1]', 'a map key must be STRING, got INT64', 17],
    ['request.size && true', '"&&" needs BOOL operands', 14],
    ['match(request.size, "a")', 'match() argument 1 must be STRING, got INT64', 7],
    ['-request.size', 'unary "-" is only supported before a number literal', 1],
    ['99999999999999999999', 'does not fit in INT64', 1],
    ['', 'empty expression', 1],
    ['request.size # x', 'unexpected character "#"', 14],
  ])('%s', (text, message, column) => {
    let err: unknown;
    try {
      compile(text, typeOf);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    expect((err as Error).message).toContain(message);
    expect((err as Error).message).toContain(`(at column ${column})`);
    expect((err as Error).message).toContain(`expression ${JSON.stringify(text)}`);
  });
});

describe('string literals that are Go durations', () => {
  // realmixer: `response.duration | "10ms"` sends duration_value 10ms; `source.name | "10s"` is refused
  // with "typeError got DURATION, expected STRING"; `request.path | "abc"` sends the string.
  it('are DURATION constants, as in Mixer', () => {
    const types: Record<string, ValueType> = { 'response.duration': 'DURATION', 'source.name': 'STRING' };
    const typeOf = (n: string): ValueType | undefined => types[n];
    expect(compile('response.duration | "10ms"', typeOf).type).toBe('DURATION');
    expect(evaluate(compile('response.duration | "10ms"', typeOf), new Map(), typeOf)).toEqual({
      type: 'DURATION',
      value: 10_000_000n,
    });
    expect(() => compile('source.name | "10s"', typeOf)).toThrow('got STRING and DURATION');
    expect(compile('source.name | "abc"', typeOf).type).toBe('STRING');
  });
});

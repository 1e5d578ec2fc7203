import { describe, expect, it } from 'vitest';
import {
  AttributeError,
  addFlagAttributes,
  addGuessedAttributes,
  fromBag,
  bagFromFlags,
  parseHexBytes,
  parseStringMap,
} from '../src/opconfig/attributes.js';
import { bagsFromJson } from '../src/tools/mixer/attribute-sets.js';
import type { TypedValue, ValueType } from '../src/opconfig/values.js';
import { formatGoDuration, parseRfc3339 } from '../src/opconfig/time.js';

const manifest: Record<string, ValueType> = {
  'request.size': 'INT64',
  'request.headers': 'STRING_MAP',
  'destination.service': 'STRING',
  'source.ip': 'IP_ADDRESS',
  'request.time': 'TIMESTAMP',
  'response.duration': 'DURATION',
  'source.email': 'EMAIL_ADDRESS',
};
const typeOf = (n: string): ValueType | undefined => manifest[n];

describe('mixc-style attribute flags', () => {
  it('reads every flag kind into typed values', () => {
    const bag = bagFromFlags({
      string_attributes: ['destination.service=svc.cluster.local,source.user=me'],
      int64_attributes: ['request.size=1235', 'response.code=-7'],
      double_attributes: ['request.ratio=1.5e3'],
      bool_attributes: ['connection.mtls=T'],
      timestamp_attributes: ['request.time=2020-01-02T15:04:05.25+01:00'],
      duration_attributes: ['response.duration=1m30.5s'],
      bytes_attributes: ['source.ip=ac:11:0:3'],
      stringmap_attributes: ['request.headers=x-custom-token:abc;accept:a:b'],
    });
    expect(Object.fromEntries(bag)).toEqual<Record<string, TypedValue>>({
      'destination.service': { type: 'STRING', value: 'svc.cluster.local' },
      'source.user': { type: 'STRING', value: 'me' },
      'request.size': { type: 'INT64', value: 1235n },
      'response.code': { type: 'INT64', value: -7n },
      'request.ratio': { type: 'DOUBLE', value: 1500 },
      'connection.mtls': { type: 'BOOL', value: true },
      'request.time': { type: 'TIMESTAMP', value: { seconds: 1577973845n, nanos: 250_000_000 } },
      'response.duration': { type: 'DURATION', value: 90_500_000_000n },
      'source.ip': { type: 'IP_ADDRESS', value: Uint8Array.from([0xac, 0x11, 0, 3]) },
      // Split at the first colon only, so values may contain colons.
      'request.headers': { type: 'STRING_MAP', value: { 'x-custom-token': 'abc', accept: 'a:b' } },
    });
  });

  it('keeps "=" inside a value and lets later flags win', () => {
    const bag = new Map<string, TypedValue>();
    addFlagAttributes(bag, 'string_attributes', 'a=x=y');
    addFlagAttributes(bag, 'string_attributes', 'a=z,b=');
    expect(bag.get('a')).toEqual({ type: 'STRING', value: 'z' });
    expect(bag.get('b')).toEqual({ type: 'STRING', value: '' });
  });

  it.each([
    ['int64_attributes', 'request.size=12.5', /--int64_attributes: request.size: expected a 64-bit integer/],
    ['int64_attributes', 'request.size=9223372036854775808', /expected a 64-bit integer/],
    ['bool_attributes', 'x=yes', /expected true or false/],
    ['timestamp_attributes', 'x=2020-02-30T00:00:00Z', /expected an RFC 3339 time/],
    ['duration_attributes', 'x=10', /expected a Go duration/],
    ['bytes_attributes', 'x=ac:1g', /expected hex bytes/],
    ['stringmap_attributes', 'x=novalue', /expected k1:v1;k2:v2/],
    ['string_attributes', 'novalue', /"novalue" is not name=value/],
  ] as const)('rejects %s %s', (flag, text, message) => {
    expect(() => addFlagAttributes(new Map(), flag, text)).toThrow(message);
  });

  it('parses the helpers on their own', () => {
    expect(parseHexBytes('0:ff:10')).toEqual(Uint8Array.from([0, 255, 16]));
    expect(parseHexBytes('')).toBeUndefined();
    expect(parseStringMap('')).toBeUndefined(); // mixc: "" is not a key:value pair
    expect(parseStringMap(':v')).toEqual({ '': 'v' }); // mixc takes an empty key
  });

  it('reads JSON attribute sets by manifest type', () => {
    const bags = bagsFromJson(
      [
        {
          'request.size': 5,
          'request.headers': { a: 'b' },
          'source.ip': '10.0.0.1',
          'request.time': '2020-01-01T00:00:00Z',
          'response.duration': '10ms',
          'source.email': 'a@b.c',
        },
        { 'source.ip': '::1', 'request.size': '9007199254740993' },
      ],
      typeOf,
      'f.json',
    );
    expect(bags[0]?.get('request.size')).toEqual({ type: 'INT64', value: 5n });
    expect(bags[0]?.get('source.ip')).toEqual({ type: 'IP_ADDRESS', value: Uint8Array.from([10, 0, 0, 1]) });
    expect(bags[0]?.get('response.duration')).toEqual({ type: 'DURATION', value: 10_000_000n });
    expect(bags[0]?.get('source.email')).toEqual({ type: 'EMAIL_ADDRESS', value: 'a@b.c' });
    expect(bags[1]?.get('source.ip')?.value).toEqual(Uint8Array.from([...Array<number>(15).fill(0), 1]));
    expect(bags[1]?.get('request.size')).toEqual({ type: 'INT64', value: 9007199254740993n });
    expect(() => bagsFromJson({ nope: 1 }, typeOf, 'f.json')).toThrow('f.json: nope: not in the attribute manifest');
    expect(() => bagsFromJson([{ 'request.size': 'x' }], typeOf, 'f.json')).toThrow(
      'f.json[0]: request.size: expected INT64',
    );
    expect(() => bagsFromJson(3, typeOf, 'f.json')).toThrow(AttributeError);
  });

  it('guesses -a/--attributes types as mixc does (int, double, bool, time, duration, bytes, map, string)', () => {
    const bag = new Map<string, TypedValue>();
    addGuessedAttributes(
      bag,
      'a=12,b=2.5,c=true,d=1970-01-01T00:00:02Z,e=2ms,f=0a:00:00:01,g=k:v,h=1.2.3.4,i=2001:db8::1',
    );
    expect(Object.fromEntries(bag)).toEqual({
      a: { type: 'INT64', value: 12n },
      b: { type: 'DOUBLE', value: 2.5 },
      c: { type: 'BOOL', value: true },
      d: { type: 'TIMESTAMP', value: { seconds: 2n, nanos: 0 } },
      e: { type: 'DURATION', value: 2_000_000n },
      f: { type: 'IP_ADDRESS', value: Uint8Array.from([10, 0, 0, 1]) },
      g: { type: 'STRING_MAP', value: { k: 'v' } },
      h: { type: 'STRING', value: '1.2.3.4' },
      i: { type: 'STRING_MAP', value: { '2001': 'db8::1' } },
    });
    expect(() => addGuessedAttributes(new Map(), 'nope')).toThrow('--attributes: "nope" is not name=value');
  });

  // Each message is what realmixer printed for the same attribute and manifest type.
  const cases: [TypedValue, ValueType, string][] = [
    [{ type: 'STRING', value: '1.2.3.4' }, 'IP_ADDRESS', 'incorrect type for IP_ADDRESS. got: string, want: []byte'],
    [{ type: 'INT64', value: 5n }, 'IP_ADDRESS', 'incorrect type for IP_ADDRESS. got: int64, want: []byte'],
    [
      { type: 'STRING_MAP', value: { '2001': 'db8::1' } },
      'IP_ADDRESS',
      'incorrect type for IP_ADDRESS. got: attribute.StringMap, want: []byte',
    ],
    [{ type: 'INT64', value: 5n }, 'TIMESTAMP', 'incorrect type for TIMESTAMP. got: int64, want: time.Time'],
    [{ type: 'INT64', value: 5n }, 'STRING', "error converting value to string: '5'"],
    [{ type: 'DOUBLE', value: 2.5 }, 'STRING', "error converting value to string: '2.5'"],
    [{ type: 'IP_ADDRESS', value: Uint8Array.from([1, 2]) }, 'STRING', "error converting value to string: '[1 2]'"],
    [{ type: 'DOUBLE', value: 2.5 }, 'INT64', "error converting value to integer or duration: '2.5'"],
    [{ type: 'STRING', value: 'abc' }, 'DURATION', "error converting value to integer or duration: 'abc'"],
    [{ type: 'INT64', value: 5n }, 'DOUBLE', "error converting value to double: '5'"],
    [{ type: 'INT64', value: 1n }, 'BOOL', "error converting value to bool: '1'"],
  ];
  it.each(cases.map(([value, type, message]) => [value.type, type, message, value] as const))(
    '%s read as %s fails with %s',
    (_kind, type, message, value) => {
      expect(fromBag(value, type)).toEqual({ error: message });
    },
  );

  it('converts what Mixer converts', () => {
    expect(fromBag({ type: 'INT64', value: 5n }, 'DURATION')).toEqual({ type: 'DURATION', value: 5n });
    expect(fromBag({ type: 'DURATION', value: 10_000_000n }, 'INT64')).toEqual({ type: 'INT64', value: 10_000_000n });
    expect(fromBag({ type: 'STRING', value: 'a@b' }, 'EMAIL_ADDRESS')).toEqual({ type: 'EMAIL_ADDRESS', value: 'a@b' });
  });
});

describe('Go time formats', () => {
  it.each([
    [0n, '0s'],
    [1n, '1ns'],
    [1_500n, '1.5µs'],
    [500_000_000n, '500ms'],
    [1_000_000_000n, '1s'],
    [60_000_000_000n, '1m0s'],
    [90_500_000_000n, '1m30.5s'],
    [3_600_000_000_000n, '1h0m0s'],
    [-2_000_000_000n, '-2s'],
  ])('formats %s ns as %s', (ns, text) => {
    expect(formatGoDuration(ns)).toBe(text);
  });

  it('parses RFC 3339 with zones and fractions', () => {
    expect(parseRfc3339('1970-01-01T00:00:01Z')).toEqual({ seconds: 1n, nanos: 0 });
    expect(parseRfc3339('1970-01-01T01:00:00.000000001+01:00')).toEqual({ seconds: 0n, nanos: 1 });
    expect(parseRfc3339('1970-01-01')).toBeUndefined();
  });
});

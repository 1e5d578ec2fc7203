import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/common/errors.js';
import { decodeValue, decodeValueMap } from '../src/core/value.js';
import { bool, dbl, dns, dur, email, int, ip, smap, str, ts, uri } from './helpers/values.js';
import { valueOnWire } from './helpers/wire.js';
import type { Value } from '../src/generated/istio/policy/v1beta1/Value.js';

const decode = (v: Value) => decodeValue(valueOnWire(v), 'value');

describe('decodeValue: every Value member', () => {
  it.each([
    ['string', str('svc.cluster.local'), 'STRING', 'svc.cluster.local'],
    ['empty string', str(''), 'STRING', ''],
    ['int64', int(1235), 'INT64', 1235],
    ['negative int64', int(-7), 'INT64', -7],
    ['int64 beyond 2^53 stays exact', int('9223372036854775807'), 'INT64', '9223372036854775807'],
    ['int64 minimum', int('-9223372036854775808'), 'INT64', '-9223372036854775808'],
    ['double', dbl(1.5), 'DOUBLE', 1.5],
    ['double NaN', dbl(NaN), 'DOUBLE', 'NaN'],
    ['double -Infinity', dbl(-Infinity), 'DOUBLE', '-Infinity'],
    ['bool true', bool(true), 'BOOL', true],
    ['bool false', bool(false), 'BOOL', false],
    ['IPv4', ip([10, 0, 0, 1]), 'IP_ADDRESS', '10.0.0.1'],
    ['IPv6', ip([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 'IP_ADDRESS', '2001:db8::1'],
    ['IPv6 loopback', ip([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 'IP_ADDRESS', '::1'],
    ['IPv6 all zero', ip(new Array<number>(16).fill(0)), 'IP_ADDRESS', '::'],
    ['IPv4-mapped', ip([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2]), 'IP_ADDRESS', '192.168.1.2'],
    ['timestamp', ts(1_700_000_000, 500_000_000), 'TIMESTAMP', '2023-11-14T22:13:20.5Z'],
    ['timestamp epoch', ts(0), 'TIMESTAMP', '1970-01-01T00:00:00Z'],
    ['timestamp year 1', ts(-62135596800), 'TIMESTAMP', '0001-01-01T00:00:00Z'],
    ['duration', dur(1, 500_000_000), 'DURATION', '1.5s'],
    ['negative duration', dur(-1, -500_000_000), 'DURATION', '-1.5s'],
    ['sub-second duration', dur(0, 1), 'DURATION', '0.000000001s'],
    ['email', email('ops@example.com'), 'EMAIL_ADDRESS', 'ops@example.com'],
    ['dns name', dns('svc.cluster.local'), 'DNS_NAME', 'svc.cluster.local'],
    ['uri', uri('https://example.com/a?b=c'), 'URI', 'https://example.com/a?b=c'],
    ['string map', smap({ b: '2', a: '1' }), 'STRING_MAP', { a: '1', b: '2' }],
  ])('%s', (_name, value, kind, expected) => {
    const decoded = decode(value);
    expect(decoded).toEqual({ kind, value: expected });
    expect(JSON.parse(JSON.stringify(decoded.value))).toEqual(expected);
  });

  it('a Value with no member set decodes to null with kind VALUE_TYPE_UNSPECIFIED', () => {
    expect(decode({})).toEqual({ kind: 'VALUE_TYPE_UNSPECIFIED', value: null });
    expect(decodeValue(null, 'value')).toEqual({ kind: 'VALUE_TYPE_UNSPECIFIED', value: null });
  });

  it.each([
    ['IP with 5 bytes', ip([1, 2, 3, 4, 5]), /IP address has 5 bytes, expected 4 or 16/],
    ['IP with no bytes', ip([]), /IP address has 0 bytes/],
    ['timestamp after 9999', ts(253402300800), /timestamp seconds 253402300800 outside/],
    ['timestamp negative nanos', ts(0, -1), /timestamp nanos -1/],
    ['duration beyond 10000 years', dur('315576000001'), /duration seconds 315576000001 outside/],
    ['duration with mixed signs', dur(1, -1), /duration nanos -1 invalid/],
  ])('rejects %s with InvalidInputError naming the value', (_name, value, message) => {
    expect(() => decode(value)).toThrow(InvalidInputError);
    expect(() => decode(value)).toThrow(message);
    expect(() => decode(value)).toThrow(/^value: /);
  });
});

describe('decodeValueMap', () => {
  it('keeps values and their kinds per key', () => {
    const wire = {
      a: valueOnWire(int(200)),
      b: valueOnWire(str('x')),
    };
    expect(decodeValueMap(wire, 'dimensions')).toEqual({
      values: { a: 200, b: 'x' },
      kinds: { a: 'INT64', b: 'STRING' },
    });
  });

  it('names the offending key in errors', () => {
    expect(() => decodeValueMap({ 'source.ip': valueOnWire(ip([1])) }, 'dimensions')).toThrow(
      'dimensions["source.ip"]: IP address has 1 bytes',
    );
  });
});

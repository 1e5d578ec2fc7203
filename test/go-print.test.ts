import { describe, expect, it } from 'vitest';
import { goFloat, goMap, goValue, goValueMap, putGoValueMap } from '../src/format/go-print.js';

describe("goFloat matches Go's %v for float64", () => {
  it.each([
    [1.5, '1.5'],
    [1e6, '1e+06'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [0, '0'],
    [-0, '-0'],
    [-2.5, '-2.5'],
    [2, '2'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [5e-324, '5e-324'],
    [0.1 + 0.2, '0.30000000000000004'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%d -> %s', (n, expected) => {
    expect(goFloat(n)).toBe(expected);
  });
});

describe('goMap and goValue', () => {
  it('prints a map with sorted keys like Go', () => {
    expect(goMap({ response_code: '200', destination_service: 'myservice' })).toBe(
      'map[destination_service:myservice response_code:200]',
    );
    expect(goMap({})).toBe('map[]');
  });

  it('sorts keys by UTF-8 bytes, also beyond the BMP (where UTF-16 order differs)', () => {
    // U+E000 is EE 80 80 in UTF-8, U+10000 is F0 90 80 80; in UTF-16 the
    // surrogate pair D800 DC00 sorts first.
    expect(goMap({ '\u{10000}': '2', '\uE000': '1', a: '0' })).toBe('map[a:0 \uE000:1 \u{10000}:2]');
    expect(goMap({ b: '2', a: '1', B: '0' })).toBe('map[B:0 a:1 b:2]');
    const many = Array.from({ length: 20 }, (_, i) => `k${(i * 7) % 20}`);
    const sorted = [...many].sort();
    expect(goMap(Object.fromEntries(many.map((k) => [k, 'v'])))).toBe(`map[${sorted.map((k) => `${k}:v`).join(' ')}]`);
    expect(goMap(Object.fromEntries(many.slice(0, 9).map((k) => [k, 'v'])))).toBe(
      `map[${[...many.slice(0, 9)]
        .sort()
        .map((k) => `${k}:v`)
        .join(' ')}]`,
    );
  });

  it('hands out the same map piece by piece (putGoValueMap) as goValueMap prints it', () => {
    const values = { '\u{10000}': '2', '\uE000': 1e6, a: null, b: { y: '1', x: '2' }, B: 7 };
    const kinds = {
      '\u{10000}': 'STRING',
      '\uE000': 'DOUBLE',
      a: 'VALUE_TYPE_UNSPECIFIED',
      b: 'STRING_MAP',
      B: 'INT64',
    } as const;
    for (const m of [values, {}, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${(i * 7) % 20}`, i]))]) {
      let pieces = '';
      putGoValueMap(m, kinds, { put: (p) => (pieces += p) });
      expect(pieces).toBe(goValueMap(m, kinds));
    }
  });

  it('prints doubles as Go does but integers in decimal', () => {
    expect(goValue(1000000, 'DOUBLE')).toBe('1e+06');
    expect(goValue(1000000, 'INT64')).toBe('1000000');
    expect(goValue('NaN', 'DOUBLE')).toBe('NaN');
    expect(goValue(null, 'VALUE_TYPE_UNSPECIFIED')).toBe('<nil>');
    expect(goValue({ b: '1', a: '2' }, 'STRING_MAP')).toBe('map[a:2 b:1]');
  });
});

// Go's fmt %v rendering of the values the walkthrough adapter prints, so the
// text format matches its out.txt byte for byte.
import type { PlainValue, ValueKind } from '../record/types.js';

/** strconv.FormatFloat(f, 'g', -1, 64), which is what %v does for float64. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  const [mantissa = '0', exponent = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(exponent);
  // Shortest formatting switches to %e when the exponent is < -4 or >= 6.
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = String(Math.abs(exp)).padStart(2, '0');
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${whole}${frac ? '.' + frac : ''}`;
}

/** Go's print of a map with string keys: `map[k1:v1 k2:v2]`, keys sorted by bytes. */
export function goMap(entries: Record<string, string>): string {
  const keys = sortedKeys(entries);
  let s = 'map[';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    s += `${i === 0 ? '' : ' '}${k}:${entries[k]}`;
  }
  return s + ']';
}

/** The keys of `o` in UTF-8 byte order, as Go's fmt prints map keys. */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o);
  // Without surrogates, UTF-16 code unit order (`<`, the default sort) is
  // UTF-8 byte order; only keys beyond the BMP need the byte comparison.
  if (keys.some(hasSurrogate)) keys.sort(byteOrder);
  else if (keys.length > 16) keys.sort();
  else {
    // Dimension maps are small: an insertion sort beats Array#sort's set-up.
    for (let i = 1; i < keys.length; i++) {
      const k = keys[i]!;
      let j = i - 1;
      while (j >= 0 && keys[j]! > k) {
        keys[j + 1] = keys[j]!;
        j--;
      }
      keys[j + 1] = k;
    }
  }
  return keys;
}

const SURROGATE = /[\uD800-\uDFFF]/;

function hasSurrogate(s: string): boolean {
  return SURROGATE.test(s);
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * One attribute value as the walkthrough prints it: strings raw, integers in
 * decimal, doubles as %v. Kinds that the Go sample prints as its internal
 * wrapper get their readable text instead (address, RFC 3339, "1.5s").
 */
export function goValue(value: PlainValue, kind: ValueKind): string {
  if (value === null) return '<nil>';
  if (typeof value === 'object') return goMap(value);
  if (kind === 'DOUBLE') {
    return typeof value === 'number' ? goFloat(value) : goFloat(Number(value));
  }
  return String(value);
}

export function goValueMap(values: Record<string, PlainValue>, kinds: Record<string, ValueKind>): string {
  // goMap's order and layout, printing each value in place (no intermediate map).
  const keys = sortedKeys(values);
  let s = 'map[';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    s += `${i === 0 ? '' : ' '}${k}:${goValue(values[k] ?? null, kinds[k] ?? 'VALUE_TYPE_UNSPECIFIED')}`;
  }
  return s + ']';
}

/**
 * goValueMap, handed out piece by piece (the text encoder writes them straight
 * into bytes). goValueMap stays a string builder of its own: it is the
 * metric batches' hot loop.
 */
export function putGoValueMap(
  values: Record<string, PlainValue>,
  kinds: Record<string, ValueKind>,
  out: { put(piece: string): void },
): void {
  const keys = sortedKeys(values);
  out.put('map[');
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) out.put(' ');
    out.put(k);
    out.put(':');
    out.put(goValue(values[k] ?? null, kinds[k] ?? 'VALUE_TYPE_UNSPECIFIED'));
  }
  out.put(']');
}

// Go's time.ParseDuration grammar ("1h30m", "1.5s", "250ms"), which is what
// operators write in Istio YAML. Result in nanoseconds as a bigint.

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const PART = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/** Returns nanoseconds, or undefined when `text` is not a Go duration. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text.trim();
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1n;
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return undefined;
    const [, whole = '', frac = '', unit = ''] = m;
    if (whole === '' && frac === '') return undefined;
    const perUnit = UNIT_NANOS[unit];
    if (perUnit === undefined) return undefined;
    total += BigInt(whole || '0') * perUnit;
    if (frac !== '') total += (BigInt(frac) * perUnit) / 10n ** BigInt(frac.length);
  }
  return sign * total;
}

import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../src/common/go-duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0n],
    ['30s', 30_000_000_000n],
    ['1.5s', 1_500_000_000n],
    ['1m30s', 90_000_000_000n],
    ['1h', 3_600_000_000_000n],
    ['250ms', 250_000_000n],
    ['10us', 10_000n],
    ['10µs', 10_000n],
    ['7ns', 7n],
    ['.5s', 500_000_000n],
    ['-2s', -2_000_000_000n],
  ])('%s', (text, nanos) => {
    expect(parseGoDuration(text)).toBe(nanos);
  });

  it.each(['', 's', '5', '5 s', '1d', 'abc', '1.s.'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });
});

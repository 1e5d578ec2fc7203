// Flag values as typed on the command line -> numbers, with units for sizes
// and durations. Every refusal names the flag and echoes what was typed.
import ms from 'ms';

const MAX = Number.MAX_SAFE_INTEGER;

function refuse(flag: string, typed: unknown, expected: string): never {
  throw new Error(`${flag}: expected ${expected}, got ${JSON.stringify(String(typed))}`);
}

function range(min: number, max: number): string {
  return max === MAX ? `at least ${min}` : `${min}..${max}`;
}

/** A whole number (a count, a port). */
export function parseCount(flag: string, typed: unknown, min = 0, max = MAX): number {
  const text = String(typed).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) refuse(flag, typed, `an integer ${range(min, max)}`);
  return n;
}

// Kubernetes quantity suffixes: k, M, G, T are powers of 1000; Ki, Mi, Gi, Ti
// powers of 1024. The letter's case does not matter (a milli-byte means
// nothing), a trailing B is allowed.
const SIZE = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(i?))?b?$/i;
const POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4 };

/** A byte size: `16777216`, `16Mi`, `10M`, `512KiB`. */
export function parseSize(flag: string, typed: unknown, min = 0): number {
  const m = SIZE.exec(String(typed).trim());
  const expected = `a size of ${range(min, MAX)} bytes such as 1048576, 10M (10^6) or 16Mi (2^20)`;
  if (!m) refuse(flag, typed, expected);
  const base = m[3] ? 1024 : 1000;
  const n = Number(m[1]) * base ** (m[2] ? POWER[m[2].toLowerCase()]! : 0);
  if (!Number.isSafeInteger(n) || n < min) refuse(flag, typed, expected);
  return n;
}

/** A duration in milliseconds: `5000`, `5s`, `1.5m`, `2h` (a bare number is milliseconds). */
export function parseMs(flag: string, typed: unknown, min = 0): number {
  const text = String(typed).trim();
  const n = /^\d+$/.test(text) ? Number(text) : /^\d/.test(text) ? ms(text as ms.StringValue) : undefined;
  if (n === undefined || !Number.isSafeInteger(n) || n < min) {
    refuse(flag, typed, `a duration of ${range(min, MAX)} ms such as 5000, 5s, 2m or 1h`);
  }
  return n;
}

/** One of a fixed set of words, as typed (case matters: `--fsync Batch` is refused, not guessed). */
export function parseChoice<C extends string>(flag: string, typed: unknown, choices: readonly C[]): C {
  const text = String(typed);
  if (!(choices as readonly string[]).includes(text)) refuse(flag, typed, `one of ${choices.join(', ')}`);
  return text as C;
}

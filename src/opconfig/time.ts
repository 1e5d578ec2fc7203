// Go's time formats that mixc users type and read: RFC 3339 timestamps in,
// time.Duration.String() ("1m0s", "1.5ms") out.
import type { Timestamp } from './values.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (with optional fraction up to nanoseconds) -> Timestamp; undefined when malformed. */
export function parseRfc3339(text: string): Timestamp | undefined {
  const m = RFC3339.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const fields = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = fields;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 April over to 1 May; reject such dates instead.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  let offsetSeconds = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetSeconds = sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  return { seconds: BigInt(ms / 1000 - offsetSeconds), nanos: Number(frac.padEnd(9, '0')) };
}

/** RFC 3339 with the fraction only when non-zero, in UTC. */
export function formatRfc3339(t: Timestamp): string {
  const iso = new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  const frac = t.nanos === 0 ? '' : '.' + String(t.nanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso}${frac}Z`;
}

function withFraction(value: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const frac = value % scale;
  const whole = (value / scale).toString();
  return frac === 0n ? whole : `${whole}.${frac.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

/** Go's time.Duration.String() for a nanosecond count: "0s", "500ms", "1m0s", "1h2m3.5s". */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const sign = nanos < 0n ? '-' : '';
  const u = nanos < 0n ? -nanos : nanos;
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${withFraction(u, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${withFraction(u, 6)}ms`;
  const totalSeconds = u / 1_000_000_000n;
  let s = `${withFraction((totalSeconds % 60n) * 1_000_000_000n + (u % 1_000_000_000n), 9)}s`;
  const minutes = totalSeconds / 60n;
  if (minutes > 0n) {
    s = `${minutes % 60n}m${s}`;
    const hours = minutes / 60n;
    if (hours > 0n) s = `${hours}h${s}`;
  }
  return sign + s;
}

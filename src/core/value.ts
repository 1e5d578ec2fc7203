// istio.policy.v1beta1.Value -> plain JSON value, one exhaustive switch.
import type { Value__Output } from '../generated/istio/policy/v1beta1/Value.js';
import type { PlainValue, ValueKind, ValueMap } from '../record/types.js';
import { quoted } from '../common/echo.js';
import { InvalidInputError } from '../common/errors.js';

/**
 * What a value is called in error messages, e.g. `dimensions["source_ip"]`.
 * A function is only called when there is an error to report, so the hot
 * path builds no names.
 */
export type Where = string | (() => string);

function named(where: Where, suffix = ''): string {
  return (typeof where === 'string' ? where : where()) + suffix;
}

export interface DecodedValue {
  kind: ValueKind;
  value: PlainValue;
}

const UNSET: DecodedValue = { kind: 'VALUE_TYPE_UNSPECIFIED', value: null };

// google.protobuf.Timestamp and Duration ranges from their proto definitions.
const MIN_TIMESTAMP_SECONDS = -62135596800; // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP_SECONDS = 253402300799; // 9999-12-31T23:59:59Z
const MAX_DURATION_SECONDS = 315576000000; // about 10,000 years

/**
 * Decodes one Value. `where` and `suffix` name the value in error messages
 * (e.g. `dimensions["source_ip"]`; the suffix lets callers share one `where`
 * function between several values). A Value with no member set decodes to
 * null with kind VALUE_TYPE_UNSPECIFIED; malformed members throw
 * InvalidInputError.
 */
export function decodeValue(v: Value__Output | null | undefined, where: Where, suffix = ''): DecodedValue {
  if (!v?.value) return UNSET;
  const member = v.value;
  switch (member) {
    case 'string_value':
      return { kind: 'STRING', value: v.string_value ?? '' };
    case 'int64_value':
      return { kind: 'INT64', value: int64(v.int64_value ?? '0') };
    case 'double_value':
      return { kind: 'DOUBLE', value: double(v.double_value ?? 0) };
    case 'bool_value':
      return { kind: 'BOOL', value: v.bool_value ?? false };
    case 'ip_address_value':
      return { kind: 'IP_ADDRESS', value: ipAddress(v.ip_address_value?.value, where, suffix) };
    case 'timestamp_value':
      return { kind: 'TIMESTAMP', value: timestamp(v.timestamp_value?.value, where, suffix) };
    case 'duration_value':
      return { kind: 'DURATION', value: duration(v.duration_value?.value, where, suffix) };
    case 'email_address_value':
      return { kind: 'EMAIL_ADDRESS', value: v.email_address_value?.value ?? '' };
    case 'dns_name_value':
      return { kind: 'DNS_NAME', value: v.dns_name_value?.value ?? '' };
    case 'uri_value':
      return { kind: 'URI', value: v.uri_value?.value ?? '' };
    case 'string_map_value':
      return { kind: 'STRING_MAP', value: { ...(v.string_map_value?.value ?? {}) } };
    default: {
      const unreachable: never = member;
      throw new InvalidInputError(`${named(where, suffix)}: unknown Value member ${String(unreachable)}`);
    }
  }
}

/** Decodes a map<string, Value>; `where` and `suffix` prefix each entry's name in errors. */
export function decodeValueMap(
  map: Record<string, Value__Output> | null | undefined,
  where: Where,
  suffix = '',
): ValueMap {
  const values: Record<string, PlainValue> = {};
  const kinds: Record<string, ValueKind> = {};
  if (map) {
    for (const key of Object.keys(map)) {
      const v = map[key];
      // The members batches are made of, inline (same results as decodeValue):
      // no intermediate object, no name closure per entry.
      if (v?.value === 'string_value') {
        values[key] = v.string_value ?? '';
        kinds[key] = 'STRING';
      } else if (v?.value === 'int64_value') {
        values[key] = int64(v.int64_value ?? '0');
        kinds[key] = 'INT64';
      } else {
        const decoded = decodeValue(v, () => `${named(where, suffix)}[${quoted(key)}]`);
        values[key] = decoded.value;
        kinds[key] = decoded.kind;
      }
    }
  }
  return { values, kinds };
}

/** A decimal int64 as a number when exact, else as the decimal string. */
function int64(decimal: string): number | string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : decimal;
}

function double(n: number): number | string {
  return Number.isFinite(n) ? n : String(n); // JSON has no NaN or Infinity
}

function ipAddress(bytes: Buffer | undefined, where: Where, suffix: string): string {
  const b = bytes ?? Buffer.alloc(0);
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) return ipv6(b);
  throw new InvalidInputError(`${named(where, suffix)}: IP address has ${b.length} bytes, expected 4 or 16`);
}

/** RFC 5952 text (IPv4-mapped: dotted): lower case, longest run of two or more zero groups compressed. */
function ipv6(b: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // IPv4-mapped addresses (Mixer's ip("10.0.0.1") and `| ip("0.0.0.0")`
  // send these) print dotted, as Go's net.IP does: the same address reads
  // the same whether it arrived as 4 or 16 bytes.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

interface SecondsNanos {
  seconds: string;
  nanos: number;
}

function timestamp(ts: SecondsNanos | null | undefined, where: Where, suffix: string): string {
  const seconds = Number(ts?.seconds ?? 0);
  const nanos = ts?.nanos ?? 0;
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new InvalidInputError(
      `${named(where, suffix)}: timestamp seconds ${ts?.seconds} outside 0001-01-01..9999-12-31`,
    );
  }
  if (nanos < 0 || nanos > 999_999_999) {
    throw new InvalidInputError(`${named(where, suffix)}: timestamp nanos ${nanos} outside 0..999999999`);
  }
  const iso = new Date(seconds * 1000).toISOString(); // always YYYY-MM-DDTHH:MM:SS.000Z in this range
  return `${iso.slice(0, 19)}${fraction(nanos)}Z`;
}

function duration(d: SecondsNanos | null | undefined, where: Where, suffix: string): string {
  const seconds = BigInt(d?.seconds ?? '0');
  const nanos = d?.nanos ?? 0;
  if (seconds > BigInt(MAX_DURATION_SECONDS) || seconds < -BigInt(MAX_DURATION_SECONDS)) {
    throw new InvalidInputError(
      `${named(where, suffix)}: duration seconds ${d?.seconds} outside ±${MAX_DURATION_SECONDS}`,
    );
  }
  if (nanos < -999_999_999 || nanos > 999_999_999 || (seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) {
    throw new InvalidInputError(`${named(where, suffix)}: duration nanos ${nanos} invalid for seconds ${d?.seconds}`);
  }
  return formatDuration(seconds, nanos);
}

/** protobuf JSON style: "1.5s", "-0.25s", "90s". */
export function formatDuration(seconds: bigint, nanos: number): string {
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

/** ".5", ".000000001" or "" for 0: the nanoseconds with trailing zeros dropped. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  return '.' + String(nanos).padStart(9, '0').replace(/0+$/, '');
}

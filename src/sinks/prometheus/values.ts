// Record values -> what a Prometheus series takes: a finite number, and one
// string per label. Every instance that does not fit gets a reason, so it is
// counted and logged rather than dropped unseen.
import { parseGoDuration } from '../../common/go-duration.js';
import type { MetricKind } from '../../core/params/prometheus-params.js';
import type { PlainValue, ValueKind, ValueMap } from '../../record/types.js';

/** Why an instance was not applied; also the `reason` label of the refusal counter. */
export type Misfit =
  | 'no_metric'
  | 'not_metric'
  | 'not_numeric'
  | 'negative'
  | 'missing_label'
  | 'label_too_long'
  | 'series_cap'
  | 'series_budget';

export type Fit<T> = { ok: true; value: T } | { ok: false; misfit: Misfit; detail: string };

/**
 * The number an instance value stands for, as Mixer's prometheus adapter read
 * it: INT64 and DOUBLE as they are, DURATION in seconds, STRING when it is a
 * decimal number. Counters refuse negative values (a counter only goes up).
 */
export function seriesValue(value: PlainValue, kind: ValueKind, metric: MetricKind): Fit<number> {
  let n: number;
  switch (kind) {
    case 'INT64':
    case 'DOUBLE':
      n = typeof value === 'number' ? value : Number(value);
      break;
    case 'DURATION': {
      const nanos = typeof value === 'string' ? parseGoDuration(value) : undefined;
      n = nanos === undefined ? Number.NaN : Number(nanos) / 1e9;
      break;
    }
    case 'STRING':
      n = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
      break;
    case 'BOOL':
    case 'DNS_NAME':
    case 'EMAIL_ADDRESS':
    case 'IP_ADDRESS':
    case 'STRING_MAP':
    case 'TIMESTAMP':
    case 'URI':
    case 'VALUE_TYPE_UNSPECIFIED':
      return { ok: false, misfit: 'not_numeric', detail: `value of kind ${kind} is not a number` };
    default: {
      const never: never = kind;
      return { ok: false, misfit: 'not_numeric', detail: `value of kind ${String(never)} is not a number` };
    }
  }
  if (!Number.isFinite(n))
    return { ok: false, misfit: 'not_numeric', detail: `value ${JSON.stringify(value)} is not a finite number` };
  if (metric === 'COUNTER' && n < 0) return { ok: false, misfit: 'negative', detail: `counter value ${n} is negative` };
  return { ok: true, value: n };
}

function labelText(value: PlainValue): string {
  if (value === null) return '';
  if (typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .map((k) => `${k}=${value[k]}`)
      .join('&');
  }
  return String(value);
}

/**
 * The label values in `labelNames` order; every name must be a dimension, and
 * no value longer than `maxValueBytes` (UTF-8). A longer value is refused, not
 * truncated: cut short, two values would fall into one series.
 */
export function labelValues(dimensions: ValueMap, labelNames: readonly string[], maxValueBytes: number): Fit<string[]> {
  const out: string[] = [];
  for (const name of labelNames) {
    if (!Object.hasOwn(dimensions.values, name)) {
      return { ok: false, misfit: 'missing_label', detail: `dimension "${name}" is missing` };
    }
    const text = labelText(dimensions.values[name]!);
    // A UTF-16 unit is at most 3 bytes of UTF-8: most values need no count.
    if (text.length * 3 > maxValueBytes) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > maxValueBytes) {
        return {
          ok: false,
          misfit: 'label_too_long',
          detail: `the value of label "${name}" is ${bytes} bytes, more than ${maxValueBytes}`,
        };
      }
    }
    out.push(text);
  }
  return { ok: true, value: out };
}

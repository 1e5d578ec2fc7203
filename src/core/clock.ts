// The time records carry, as RFC 3339 text. Formatting a Date costs more than
// the rest of a small call's bookkeeping, and at thousands of calls a second
// many share a millisecond, so the text is reused within one.

export type IsoClock = () => string;

export function isoClock(nowMs: () => number = Date.now): IsoClock {
  let lastMs = Number.NaN;
  let lastText = '';
  return () => {
    const ms = nowMs();
    if (ms !== lastMs) {
      lastMs = ms;
      lastText = new Date(ms).toISOString();
    }
    return lastText;
  };
}

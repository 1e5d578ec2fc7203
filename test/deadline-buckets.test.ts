import { describe, expect, it } from 'vitest';
import { DeadlineBuckets } from '../src/core/deadline-buckets.js';

describe('DeadlineBuckets', () => {
  it('shares one deadline among calls of a window and starts a new one after it', () => {
    let now = 1000;
    const buckets = new DeadlineBuckets(
      10_000,
      () => new Error('late'),
      5,
      () => now,
    );
    const a = buckets.enter();
    now += 4;
    const b = buckets.enter();
    now += 1; // the window is 5 ms
    const c = buckets.enter();
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    for (const d of [a, b, c]) d.leave();
  });

  it('aborts and rejects no earlier than the timeout, with the shared reason', async () => {
    const buckets = new DeadlineBuckets(60, () => new Error('late'), 5);
    const started = performance.now();
    const d = buckets.enter();
    const other = buckets.enter(); // same window: the same deadline for both
    const done = other.race(Promise.resolve('written'));
    await expect(d.race(new Promise(() => undefined))).rejects.toBe(d.reason);
    await expect(done).resolves.toBe('written'); // work that settled first keeps its result
    other.leave();
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(d.reason);
    d.leave();
  });

  it('cancels a closed window once all its calls left: nothing fires', async () => {
    let now = 0;
    const buckets = new DeadlineBuckets(
      30,
      () => new Error('late'),
      5,
      () => now,
    );
    const a = buckets.enter();
    now = 10;
    const b = buckets.enter(); // closes a's window
    a.leave();
    b.leave();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(a.signal.aborted).toBe(false);
    // b's window is still open, so its timer may fire; a call that left is not affected either way.
  });
});

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatSummary, percentile, runLoad } from '../src/tools/mixer/load-run.js';

/** A real stream that says it is (or is not) a terminal, collecting what is written. */
function stream(isTTY: boolean): { s: NodeJS.WriteStream; text: () => string } {
  const p = new PassThrough();
  let text = '';
  p.on('data', (c: Buffer) => (text += c.toString()));
  Object.assign(p, { isTTY });
  return { s: p as unknown as NodeJS.WriteStream, text: () => text };
}

describe('load runs', () => {
  it('computes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });

  it('counts outcomes and errors, and keeps to the concurrency', async () => {
    let inFlight = 0;
    let most = 0;
    let n = 0;
    const out = stream(false);
    const summary = await runLoad(
      { repeat: 30, concurrency: 3, rate: 0 },
      async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        const bad = ++n % 10 === 0;
        return { label: bad ? 'PERMISSION_DENIED' : 'OK', error: bad };
      },
      out.s,
    );
    expect(summary.calls).toBe(30);
    expect(summary.errors).toBe(3);
    expect(summary.outcomes).toEqual({ OK: 27, PERMISSION_DENIED: 3 });
    expect(most).toBe(3);
    expect(summary.p50Ms).toBeGreaterThan(0);
    expect(out.text()).toBe(''); // not a terminal: no progress bar
    expect(formatSummary(summary)).toMatch(/^30 calls in [\d.]+s \([\d.]+ per second\), 3 errors\n/);
  });

  it('paces starts with --rate and draws a progress bar on a terminal when the run passes a second', async () => {
    const out = stream(true);
    const started = Date.now();
    const summary = await runLoad(
      { repeat: 6, concurrency: 6, rate: 4 },
      () => Promise.resolve({ label: 'OK', error: false }),
      out.s,
    );
    // Starts at 0, 0.25, ... 1.25 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(summary.calls).toBe(6);
    expect(out.text()).toMatch(/\r\[#+ *\] \d\/6/);
    expect(out.text()).toContain('] 6/6');
    expect(out.text().endsWith('\n')).toBe(true);
  });
});

// The sizing search of `npm run bench -- --scenarios mesh`, on a server model
// with a known capacity: it must find that capacity, and the replica
// arithmetic must cover the mesh.
import { describe, expect, it } from 'vitest';
import type { PointResult } from './bench/report.js';
import { SCENARIOS } from './bench/scenarios.js';
import { findSustainedRate, formatSizing, notSustained, replicasFor } from './bench/sizing.js';

const report100 = SCENARIOS.find((s) => s.name === 'mesh_report100')!;

/** A server that answers everything below `capacity` mesh req/s within 5 ms and queues above it. */
function modelPoint(meshPerSec: number, capacity: number): PointResult {
  const calls = meshPerSec / 100;
  const over = meshPerSec > capacity;
  return {
    scenario: 'mesh_report100',
    concurrency: 0,
    offeredCallsPerSec: calls,
    meshRequestsPerCall: 100,
    meshRequestsPerSec: over ? capacity : meshPerSec,
    instancesPerCall: 100,
    calls: calls * 5,
    measuredSeconds: 5,
    callsPerSec: over ? capacity / 100 : calls,
    instancesPerSec: over ? capacity : meshPerSec,
    latencyMs: { p50: 2, p90: 3, p99: over ? 900 : 5, p999: over ? 1500 : 7, max: over ? 2000 : 8 },
    errors: 0,
    wrongAnswers: 0,
    cpuPercent: (Math.min(meshPerSec, capacity) / capacity) * 100,
    cpuUsPerCall: 0,
    peakRssMB: 90,
    fileMB: 0,
  };
}

describe('bench sizing', () => {
  it('finds the highest sustained rate within 5 % and says why the next one failed', async () => {
    const probed: number[] = [];
    const row = await findSustainedRate(report100, 100, (rate) => {
      probed.push(rate);
      return Promise.resolve(modelPoint(rate, 137_000));
    });
    expect(row.sustainedMeshPerSec).toBeLessThanOrEqual(137_000);
    expect(row.sustainedMeshPerSec).toBeGreaterThan(137_000 * 0.95);
    expect(row.failedAt?.why).toMatch(/p99 900/);
    expect(probed.length).toBeLessThan(15);
    // One core at capacity: 1 core / 137 thousand mesh req/s.
    expect(formatSizing([row], 100)).toMatch(/mesh_report100\s+100\s+13\d{4}/);
  });

  it('reports 0 when even the first probe fails, with the reason', async () => {
    const row = await findSustainedRate(report100, 100, (rate) => Promise.resolve(modelPoint(rate, 10)));
    expect(row.sustainedMeshPerSec).toBe(0);
    // It halved down to one call per second (100 mesh requests) before giving up.
    expect(row.failedAt?.meshPerSec).toBeGreaterThanOrEqual(100);
    expect(row.failedAt?.meshPerSec).toBeLessThan(200);
  });

  it('does not credit errors, slow answers or an offered rate the server did not answer', () => {
    const ok = modelPoint(1000, 5000);
    expect(notSustained(ok, 100)).toBeUndefined();
    expect(notSustained({ ...ok, errors: 1, firstError: '14 unavailable' }, 100)).toMatch(/1 errors/);
    expect(notSustained({ ...ok, latencyMs: { ...ok.latencyMs, p99: 100 } }, 100)).toMatch(/p99/);
    expect(notSustained({ ...ok, callsPerSec: 9 }, 100)).toMatch(/answered 9 of 10/);
  });

  it('plans replicas at 70 % of the sustained rate, at least one', () => {
    expect(replicasFor(10_000, 10_000)).toBe(2);
    expect(replicasFor(7_000, 10_000)).toBe(1);
    expect(replicasFor(100, 10_000)).toBe(1);
    expect(replicasFor(50_000, 0)).toBe(Infinity);
  });
});

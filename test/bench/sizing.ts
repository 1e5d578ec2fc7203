// Capacity in mesh terms: the highest offered rate of mesh requests a server
// sustains (every call answered, none wrong, p99 under the target, the offered
// rate achieved), found by doubling then bisecting, and what it means for a
// mesh of a given size.
import type { PointResult } from './report.js';
import type { Scenario } from './scenarios.js';

export interface SizingRow {
  scenario: string;
  meshRequestsPerCall: number;
  /** Highest mesh requests/s that held; 0 when even the first probe failed. */
  sustainedMeshPerSec: number;
  /** The point measured at that rate. */
  at: PointResult | undefined;
  /** The lowest rate that did not hold, and why. */
  failedAt: { meshPerSec: number; why: string } | undefined;
}

/** Why a point does not count as sustained, or undefined when it does. */
export function notSustained(point: PointResult, p99TargetMs: number): string | undefined {
  const bad = point.errors + point.wrongAnswers;
  if (bad > 0) return `${bad} errors (${point.firstError})`;
  if (point.latencyMs.p99 >= p99TargetMs) return `p99 ${point.latencyMs.p99.toFixed(1)} ms`;
  const offered = point.offeredCallsPerSec ?? point.callsPerSec;
  // The client itself may fall behind; a server is only credited what it was offered and answered.
  if (point.callsPerSec < offered * 0.97)
    return `answered ${point.callsPerSec.toFixed(0)} of ${offered.toFixed(0)} calls/s`;
  return undefined;
}

/** First probe: 500 calls/s, in mesh requests/s. */
const START_CALLS_PER_SEC = 500;
/** Bisection stops when the bracket is this close (5 %). */
const RESOLUTION = 0.05;

export async function findSustainedRate(
  scenario: Scenario,
  p99TargetMs: number,
  probe: (meshPerSec: number) => Promise<PointResult>,
): Promise<SizingRow> {
  const perCall = scenario.mesh?.requestsPerCall ?? 1;
  let good: { rate: number; point: PointResult } | undefined;
  let bad: { rate: number; why: string } | undefined;
  const tryRate = async (rate: number): Promise<boolean> => {
    const point = await probe(rate);
    const why = notSustained(point, p99TargetMs);
    if (why === undefined) good = { rate, point };
    else bad = { rate, why };
    return why === undefined;
  };
  // Bracket: double up from the start until a rate fails, or halve down until one holds.
  const first = START_CALLS_PER_SEC * perCall;
  if (await tryRate(first)) {
    for (let rate = first * 2; await tryRate(rate); rate *= 2);
  } else {
    for (let rate = first / 2; rate >= perCall && !(await tryRate(rate)); rate /= 2);
  }
  // Bisect the bracket; nothing below one call per second is worth a probe.
  for (let low = good?.rate ?? 0, high = bad!.rate; low > 0 && high - low > high * RESOLUTION;) {
    const mid = Math.round((low + high) / 2);
    if (await tryRate(mid)) low = mid;
    else high = mid;
  }
  return {
    scenario: scenario.name,
    meshRequestsPerCall: perCall,
    sustainedMeshPerSec: good?.rate ?? 0,
    at: good?.point,
    failedAt: bad && { meshPerSec: bad.rate, why: bad.why },
  };
}

/** Server CPU-seconds per second (cores) per 1000 mesh requests/s at the sustained rate. */
export function coresPer1000(row: SizingRow): number {
  if (!row.at || row.sustainedMeshPerSec === 0) return NaN;
  return row.at.cpuPercent / 100 / (row.sustainedMeshPerSec / 1000);
}

/**
 * Replicas a mesh of `meshPerSec` requests/s needs when each pod is planned at
 * `utilisation` of its sustained rate (headroom for bursts and a lost pod).
 */
export function replicasFor(meshPerSec: number, sustainedPerPod: number, utilisation = 0.7): number {
  if (sustainedPerPod <= 0) return Infinity;
  return Math.max(1, Math.ceil(meshPerSec / (sustainedPerPod * utilisation)));
}

const MESH_SIZES = [1_000, 10_000, 50_000];

export function formatSizing(rows: readonly SizingRow[], p99TargetMs: number): string {
  const lines = [
    `sizing: highest offered mesh requests/s with p99 < ${p99TargetMs} ms and no errors (open loop)`,
    [
      'scenario'.padEnd(18),
      'req/call'.padStart(8),
      'mesh req/s'.padStart(11),
      'calls/s'.padStart(9),
      'p50ms'.padStart(7),
      'p99ms'.padStart(7),
      'cpu%'.padStart(5),
      'cores/1k'.padStart(9),
      'rssMB'.padStart(6),
      ...MESH_SIZES.map((n) => `pods@${n / 1000}k`.padStart(9)),
      '  then',
    ].join(' '),
  ];
  for (const row of rows) {
    const at = row.at;
    lines.push(
      [
        row.scenario.padEnd(18),
        String(row.meshRequestsPerCall).padStart(8),
        row.sustainedMeshPerSec.toFixed(0).padStart(11),
        (at?.callsPerSec.toFixed(0) ?? '-').padStart(9),
        (at?.latencyMs.p50.toFixed(2) ?? '-').padStart(7),
        (at?.latencyMs.p99.toFixed(2) ?? '-').padStart(7),
        (at?.cpuPercent.toFixed(0) ?? '-').padStart(5),
        coresPer1000(row).toFixed(3).padStart(9),
        (at?.peakRssMB.toFixed(0) ?? '-').padStart(6),
        ...MESH_SIZES.map((n) => String(replicasFor(n, row.sustainedMeshPerSec)).padStart(9)),
        `  ${row.failedAt ? `${row.failedAt.meshPerSec}: ${row.failedAt.why}` : ''}`,
      ].join(' '),
    );
  }
  lines.push('pods@N: replicas for a mesh of N requests/s, each planned at 70 % of its sustained rate');
  return lines.join('\n') + '\n';
}

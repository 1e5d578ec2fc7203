// Presents bench results: a text table and an SVG chart of throughput and
// p99 latency against concurrency (closed loop) or offered rate (open loop),
// one pair of panels per scenario.
import type { SizingRow } from './sizing.js';

export interface PointResult {
  scenario: string;
  /** Calls in flight (closed loop); 0 for an open-loop point. */
  concurrency: number;
  /** Open loop: calls/s started in the measurement window, whatever the server did. */
  offeredCallsPerSec?: number;
  /** Mesh scenarios: mesh requests one call stands for, and mesh requests/s the answered calls stand for. */
  meshRequestsPerCall?: number;
  meshRequestsPerSec?: number;
  instancesPerCall: number;
  /** Calls completed in the measurement window. */
  calls: number;
  /** The window's length: the set duration, longer only when no call had completed by its end. */
  measuredSeconds: number;
  callsPerSec: number;
  instancesPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  errors: number;
  wrongAnswers: number;
  firstError?: string;
  /** Server CPU over the measurement window, percent of one core. */
  cpuPercent: number;
  /** Server CPU time per call completed in the window: efficiency that holds up on a busy machine. */
  cpuUsPerCall: number;
  peakRssMB: number;
  /** Size the sink file reached (file scenarios), else 0. */
  fileMB: number;
}

export interface BenchResults {
  target: string;
  command: string;
  startedAt: string;
  node: string;
  cpus: number;
  warmupSeconds: number;
  measureSeconds: number;
  workers: number;
  points: PointResult[];
  /** Mesh scenarios searched for their sustained rate. */
  sizing?: SizingRow[];
}

const COLUMNS: [string, number, (p: PointResult) => string][] = [
  ['scenario', -16, (p) => p.scenario],
  ['load', 8, (p) => loadCell(p)],
  ['calls/s', 10, (p) => p.callsPerSec.toFixed(1)],
  ['inst/s', 11, (p) => p.instancesPerSec.toFixed(0)],
  ['p50ms', 8, (p) => p.latencyMs.p50.toFixed(3)],
  ['p90ms', 8, (p) => p.latencyMs.p90.toFixed(3)],
  ['p99ms', 8, (p) => p.latencyMs.p99.toFixed(3)],
  ['p99.9ms', 8, (p) => p.latencyMs.p999.toFixed(3)],
  ['maxms', 9, (p) => p.latencyMs.max.toFixed(3)],
  ['errors', 7, (p) => String(p.errors + p.wrongAnswers)],
  ['cpu%', 6, (p) => p.cpuPercent.toFixed(0)],
  ['cpuus/call', 11, (p) => p.cpuUsPerCall.toFixed(0)],
  ['rssMB', 7, (p) => p.peakRssMB.toFixed(1)],
];

/** Closed loop: `c=16`; open loop: the offered calls/s (`o=2.0k`). */
function loadCell(p: PointResult): string {
  return p.offeredCallsPerSec === undefined ? `c=${p.concurrency}` : `o=${shortNumber(p.offeredCallsPerSec)}`;
}

function cell(text: string, width: number): string {
  return width < 0 ? text.padEnd(-width) : text.padStart(width);
}

export function formatTable(points: readonly PointResult[]): string {
  const header = COLUMNS.map(([name, width]) => cell(name, width)).join(' ');
  const rows = points.map((p) => COLUMNS.map(([, width, get]) => cell(get(p), width)).join(' '));
  return [header, ...rows].join('\n') + '\n';
}

// ---- SVG -------------------------------------------------------------------

const PANEL_W = 320;
const PANEL_H = 180;
const MARGIN = { left: 64, right: 16, top: 28, bottom: 34 };
const GAP = 24;

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A 1-2-5 step that gives about four ticks up to `max`. */
function niceStep(max: number): number {
  const raw = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

function shortNumber(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(2)}`;
}

/** One line chart: x = evenly spaced categories (concurrency or offered rate), y from 0. */
function panel(x0: number, y0: number, title: string, xs: string[], ys: number[], color: string): string {
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const left = x0 + MARGIN.left;
  const top = y0 + MARGIN.top;
  const max = Math.max(...ys, 0);
  const step = max > 0 ? niceStep(max) : 1;
  const yMax = Math.max(step, Math.ceil(max / step) * step);
  const px = (i: number): number => left + (xs.length === 1 ? plotW / 2 : (i * plotW) / (xs.length - 1));
  const py = (v: number): number => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [
    `<text x="${x0 + PANEL_W / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  ];
  for (let v = 0; v <= yMax + step / 2; v += step) {
    const y = py(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${shortNumber(v)}</text>`);
  }
  xs.forEach((label, i) => {
    parts.push(`<text x="${px(i).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${escapeXml(label)}</text>`);
  });
  const pts = ys.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`);
  parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
  ys.forEach((v, i) => {
    parts.push(`<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  return parts.join('\n');
}

export function renderSvg(results: BenchResults): string {
  const scenarios = [...new Set(results.points.map((p) => p.scenario))];
  const width = 2 * PANEL_W + GAP;
  const headerH = 36;
  const height = headerH + scenarios.length * (PANEL_H + GAP);
  const body: string[] = [
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">` +
      `${escapeXml(`mygrpcadapter bench: ${results.target} (${results.measureSeconds} s per point, ${results.startedAt})`)}</text>`,
  ];
  scenarios.forEach((name, row) => {
    const open = results.points.some((p) => p.scenario === name && p.offeredCallsPerSec !== undefined);
    const order = (p: PointResult): number => (open ? (p.offeredCallsPerSec ?? 0) : p.concurrency);
    const points = results.points.filter((p) => p.scenario === name).sort((a, b) => order(a) - order(b));
    // Open loop: x is the offered rate, in mesh requests/s where the scenario has them.
    const mesh = points.every((p) => p.meshRequestsPerSec !== undefined);
    const xs = points.map((p) =>
      open ? `${shortNumber((p.offeredCallsPerSec ?? 0) * (p.meshRequestsPerCall ?? 1))}/s` : `c=${p.concurrency}`,
    );
    const perInstance = (points[0]?.instancesPerCall ?? 1) > 1;
    const y0 = headerH + row * (PANEL_H + GAP);
    body.push(
      panel(
        0,
        y0,
        `${name}: ${mesh ? 'mesh req/s answered' : perInstance ? 'instances/s' : 'calls/s'}`,
        xs,
        points.map((p) => (mesh ? (p.meshRequestsPerSec ?? 0) : perInstance ? p.instancesPerSec : p.callsPerSec)),
        '#1f77b4',
      ),
      panel(
        PANEL_W + GAP,
        y0,
        `${name}: p99 ms`,
        xs,
        points.map((p) => p.latencyMs.p99),
        '#d62728',
      ),
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n` +
    body.join('\n') +
    '\n</svg>\n'
  );
}

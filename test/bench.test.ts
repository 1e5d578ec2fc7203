// `npm run bench -- --smoke` end to end: builds the bench, runs every scenario
// briefly against the built adapter, and checks the results file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from './bench/report.js';
import { DEFAULT_SCENARIOS, SCENARIOS } from './bench/scenarios.js';
import { ROOT } from './helpers/cli.js';
import { describeWith } from './helpers/peers.js';

const run = promisify(execFile);
let dir: string;
// Made only when a test of this file runs (hooks do not run when all are skipped).
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run bench -- --smoke', () => {
  it('measures every scenario at concurrency 1 and 16 with no errors', { timeout: 90_000 }, async () => {
    await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.bench.json'], {
      cwd: ROOT,
    });
    const out = path.join(dir, 'results.json');
    const svg = path.join(dir, 'results.svg');
    const { stdout } = await run(
      process.execPath,
      ['dist/bench/test/bench/run.js', '--smoke', '--out', out, '--svg', svg],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/^scenario\s+load\s+calls\/s/m);

    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.target).toBe('adapter');
    const seen = results.points.map((p) => `${p.scenario} c=${p.concurrency}`);
    expect(seen).toEqual(DEFAULT_SCENARIOS.flatMap((s) => [`${s.name} c=1`, `${s.name} c=16`]));
    for (const p of results.points) {
      expect({ point: `${p.scenario} c=${p.concurrency}`, errors: p.errors, wrong: p.wrongAnswers }).toEqual({
        point: `${p.scenario} c=${p.concurrency}`,
        errors: 0,
        wrong: 0,
      });
      expect(p.callsPerSec).toBeGreaterThan(0);
      expect(p.instancesPerSec).toBeCloseTo(p.callsPerSec * p.instancesPerCall, 3);
      expect(p.latencyMs.p99).toBeGreaterThan(0);
      expect(p.peakRssMB).toBeGreaterThan(0);
    }
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*metric1000_file: instances\/s[\s\S]*<\/svg>\n$/);
  });
});

describe('npm run bench -- --scenarios mesh,envoy', () => {
  it(
    'replays every Mixer-recorded request, and the same checks through ext_authz, open loop at the offered rate, answered as expected',
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, 'mesh.json');
      const svg = path.join(dir, 'mesh.svg');
      // The tsc of the test above built dist/bench; vitest runs a file's tests in order.
      const { stdout } = await run(
        process.execPath,
        [
          'dist/bench/test/bench/run.js',
          '--smoke',
          '--scenarios',
          'mesh,envoy',
          '--rates',
          '200',
          '--out',
          out,
          '--svg',
          svg,
        ],
        { cwd: ROOT },
      );
      expect(stdout).toMatch(/^scenario\s+load\s+calls\/s/m);
      const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
      const mesh = SCENARIOS.filter((s) => s.mesh !== undefined);
      expect(results.points.map((p) => p.scenario)).toEqual(mesh.map((s) => s.name));
      for (const [i, p] of results.points.entries()) {
        const perCall = mesh[i]!.mesh!.requestsPerCall;
        expect({ scenario: p.scenario, errors: p.errors, wrong: p.wrongAnswers }).toEqual({
          scenario: p.scenario,
          errors: 0,
          wrong: 0,
        });
        // 200 mesh requests/s offered: calls/s = 200 / requests per call, over a 0.5 s window.
        expect(p.offeredCallsPerSec).toBeCloseTo(200 / perCall, -1);
        expect(p.meshRequestsPerCall).toBe(perCall);
        expect(p.calls).toBeGreaterThan(0);
      }
      expect(readFileSync(svg, 'utf8')).toMatch(/mesh_report100: mesh req\/s answered/);
    },
  );
});

describe('npm run bench:alloc', () => {
  it('counts what the server allocates per check and report, and says where', { timeout: 90_000 }, async () => {
    const out = path.join(dir, 'alloc.json');
    // dist/bench was built by the first test of this file.
    const { stdout } = await run(
      process.execPath,
      [
        'dist/bench/test/bench/alloc.js',
        '--calls',
        '300',
        '--warmup',
        '100',
        '--scenarios',
        'mesh_check_allow,mesh_report1',
        '--profile',
        '--top',
        '5',
        '--json',
        out,
      ],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/^mesh_check_allow +\d+ /m);
    const { results } = JSON.parse(readFileSync(out, 'utf8')) as {
      results: { scenario: string; bytesPerCall: number; sites: unknown[]; groups: { group: string }[] }[];
    };
    expect(results.map((r) => r.scenario)).toEqual(['mesh_check_allow', 'mesh_report1']);
    for (const r of results) {
      expect(r.bytesPerCall).toBeGreaterThan(0);
      expect(r.sites).toHaveLength(5);
      expect(r.groups.map((g) => g.group)).toContain('@grpc/grpc-js');
    }
  });
});

describeWith(['h2load'], 'shared-cpu.js', () => {
  it(
    'runs the adapter and the no-op server at once on one CPU, each answering as expected',
    { timeout: 90_000 },
    async () => {
      // dist/bench was built by the first test of this file.
      const { stdout } = await run(
        process.execPath,
        [
          'dist/bench/test/bench/shared-cpu.js',
          '--rounds',
          '1',
          '--duration',
          '1',
          '--scenarios',
          'auth_deny,metric1_stdout',
        ],
        { cwd: ROOT },
      );
      for (const scenario of ['auth_deny', 'metric1_stdout']) {
        const round = new RegExp(`^${scenario} round 1: adapter (\\d+), noop (\\d+) calls/s$`, 'm').exec(stdout);
        expect(round, stdout).not.toBeNull();
        expect(Number(round![1])).toBeGreaterThan(0);
        expect(stdout).toMatch(
          new RegExp(`^${scenario}: median of the no-op server's calls/s: adapter \\d+\\.\\d\\dx$`, 'm'),
        );
      }
    },
  );
});

describeWith(['h2load'], 'npm run bench -- --client h2load', () => {
  it(
    'drives Mixer-recorded checks open loop from h2load at the offered rate, checked once through gRPC',
    { timeout: 90_000 },
    async () => {
      const out = path.join(dir, 'h2load.json');
      const svg = path.join(dir, 'h2load.svg');
      const { stdout } = await run(
        process.execPath,
        [
          'dist/bench/test/bench/run.js',
          ...['--client', 'h2load', '--scenarios', 'mesh_check_allow,mesh_check_deny', '--rates', '500'],
          ...['--warmup', '0.5', '--duration', '1', '--out', out, '--svg', svg],
        ],
        { cwd: ROOT },
      );
      // The server pinned to one CPU, h2load on the others.
      expect(stdout).toMatch(/^target adapter: taskset\(1 CPU\) node /m);
      const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
      expect(results.points.map((p) => p.scenario)).toEqual(['mesh_check_allow', 'mesh_check_deny']);
      for (const p of results.points) {
        expect({ scenario: p.scenario, errors: p.errors }).toEqual({ scenario: p.scenario, errors: 0 });
        // 500 calls/s for 1 s: h2load's pacing is within a few calls of it.
        expect(p.calls).toBeGreaterThan(450);
        expect(p.calls).toBeLessThan(550);
        expect(p.latencyMs.p99).toBeGreaterThan(0);
        expect(p.cpuUsPerCall).toBeGreaterThan(0);
      }
    },
  );

  it('refuses closed-loop scenarios: h2load drives open loop only', async () => {
    const failed = await run(process.execPath, ['dist/bench/test/bench/run.js', '--client', 'h2load'], {
      cwd: ROOT,
    }).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('--client h2load: open loop only');
  });
});

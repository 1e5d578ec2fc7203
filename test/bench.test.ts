// `npm run bench -- --smoke` end to end: builds the bench, runs every scenario
// briefly against the built adapter, and checks the results file.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from './bench/report.js';
import { SCENARIOS } from './bench/scenarios.js';
import { ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    expect(stdout).toMatch(/^scenario\s+c\s+calls\/s/m);

    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.target).toBe('adapter');
    const seen = results.points.map((p) => `${p.scenario} c=${p.concurrency}`);
    expect(seen).toEqual(SCENARIOS.flatMap((s) => [`${s.name} c=1`, `${s.name} c=16`]));
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

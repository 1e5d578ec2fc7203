// `node dist/bench/test/bench/shared-cpu.js [options]`: what a small call costs
// the adapter's process against the grpc-js no-op server, measured so that a
// noisy machine cancels out. The servers run at the same time pinned to the
// same one CPU, each kept saturated by its own h2load (one connection, 64
// calls in flight) on the other CPUs; the kernel shares the CPU evenly, so
// the ratio of their calls/s is the inverse ratio of their CPU per call.
// Separate runs, one after the other, differ by ±20% here from the machine
// alone.
//
//   --scenarios a,b     closed-loop scenarios (auth_allow,metric1_stdout)
//   --rounds N          rounds, each a fresh set of servers (3)
//   --duration S        seconds measured per round, after 1 s of warm-up (4)
//   --also DIR          also run the built adapter of another checkout (before/after), repeatable
//
// Needs h2load (Debian nghttp2-client) and taskset. Prints each round's
// calls/s and the median ratio to the no-op server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { grpcMessage } from '../helpers/wire.js';
import { encodeRequest, selectScenarios, type Scenario } from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';
import { startNodeFlags } from './start-command.js';
import { h2loadRequestArgs, preflight, runH2load } from './h2load-client.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

interface Target {
  name: string;
  script: string;
  args: string[];
}

function targets(also: string[]): Target[] {
  const adapterArgs = ['0', '--host', '127.0.0.1', '--log-level', 'warn'];
  return [
    { name: 'adapter', script: path.join(ROOT, 'dist/src/bin.js'), args: adapterArgs },
    ...also.map((dir) => ({
      name: path.basename(path.resolve(dir)),
      script: path.resolve(dir, 'dist/src/bin.js'),
      args: adapterArgs,
    })),
    {
      name: 'noop',
      script: path.join(ROOT, 'dist/bench/test/bench/noop-server.js'),
      args: ['0', '--host', '127.0.0.1'],
    },
  ];
}

interface Load {
  callsPerSec: number;
  failed: number;
}

async function h2load(address: string, scenario: Scenario, frameFile: string, seconds: number): Promise<Load> {
  const args = ['-c', '1', '-m', '64', '-t', '1', '-D', String(seconds), '--warm-up-time=1'];
  const out = await runH2load(`1-${os.availableParallelism() - 1}`, [
    ...args,
    ...h2loadRequestArgs(address, scenario.path, frameFile),
  ]);
  const rate = /finished in [^,]+, ([\d.]+) req\/s/.exec(out);
  const requests = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded/.exec(out);
  if (!rate || !requests) throw new Error(`h2load printed no summary: ${out}`);
  return { callsPerSec: Number(rate[1]), failed: Number(requests[2]) - Number(requests[3]) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string', default: 'auth_allow,metric1_stdout' },
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '4' },
      also: { type: 'string', multiple: true, default: [] },
    },
  });
  if (os.availableParallelism() < 2) throw new Error('needs 2 CPUs: one for the servers, the rest for the clients');
  execFileSync('h2load', ['--version'], { stdio: 'ignore' }); // fails early when it is missing
  const rounds = Number(values.rounds);
  const seconds = Number(values.duration);
  const all = targets(values.also);
  const nodeFlags = startNodeFlags(ROOT);
  const work = mkdtempSync(path.join(os.tmpdir(), 'shared-cpu-'));
  const running: ServerProcess[] = [];
  try {
    for (const scenario of selectScenarios(values.scenarios.split(','))) {
      if (scenario.mesh) throw new Error(`${scenario.name}: mesh scenarios run open loop, with npm run bench`);
      const frameFile = path.join(work, `${scenario.name}.frame`);
      const request = encodeRequest(scenario, path.join(work, 'out.txt'));
      writeFileSync(frameFile, grpcMessage(request)); // what h2load sends for each call
      const ratios = new Map<string, number[]>(all.map((t) => [t.name, []]));
      for (let round = 1; round <= rounds; round++) {
        running.length = 0;
        for (const t of all) {
          const args = ['-c', '0', process.execPath, ...nodeFlags, t.script, ...t.args];
          if (t.name !== 'noop') args.push('--data-dir', work);
          const server = await startServer('taskset', args, ROOT);
          running.push(server);
          // The no-op server allows everything: only its gRPC answer is checked.
          await preflight(
            t.name,
            server.address,
            scenario,
            request,
            t.name === 'noop' ? undefined : scenario.expectCheckCode,
          );
        }
        const loads = await Promise.all(running.map((s) => h2load(s.address, scenario, frameFile, seconds)));
        await Promise.all(running.map((s) => s.stop()));
        const noop = loads[loads.length - 1]!.callsPerSec;
        const cells = all.map((t, i) => {
          const { callsPerSec, failed } = loads[i]!;
          ratios.get(t.name)!.push(callsPerSec / noop);
          return `${t.name} ${callsPerSec.toFixed(0)}${failed ? ` (${failed} failed)` : ''}`;
        });
        console.log(`${scenario.name} round ${round}: ${cells.join(', ')} calls/s`);
      }
      const summary = all
        .filter((t) => t.name !== 'noop')
        .map((t) => `${t.name} ${median(ratios.get(t.name)!).toFixed(2)}x`)
        .join(', ');
      console.log(`${scenario.name}: median of the no-op server's calls/s: ${summary}`);
    }
  } finally {
    await Promise.all(running.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

// `npm run bench [-- options]`: the adapter (or the no-op ceiling) under load
// from grpc-js clients in worker threads, one connection per worker.
//
//   --target adapter|noop   server to measure (default adapter)
//   --target-command CMD    or another server: `bash -c CMD` in the point's folder, {port} replaced
//                           by 0; it prints `listening on "<addr>"` (the Go walkthrough adapter does)
//   --smoke                 0.2 s warm-up + 0.5 s per point, concurrency 1 and 16
//   --warmup S --duration S seconds of warm-up and of measurement per point (1, 5)
//   --concurrency 1,16,64   calls in flight (closed-loop scenarios)
//   --scenarios a,b         subset of the scenarios (default: the closed-loop ones);
//                           `mesh` = every mesh_* scenario (Mixer-shaped, open loop);
//                           `envoy` = the same checks through the ext_authz front-end
//   --rates R1,R2           mesh scenarios: offered mesh requests/s to measure at;
//                           without it, a search for the highest sustained rate (sizing)
//   --p99 MS                sizing: the p99 a sustained rate must stay under (100)
//   --cpus N                pin the server to N CPUs (taskset), e.g. 1 for a 1-CPU pod
//   --server-args="A B"     extra adapter flags, e.g. "--decode-workers=1" as the Deployment
//   --workers N             worker threads, each with its own connection (1)
//   --client node|h2load    who sends the load: the bench's grpc-js workers (node), or
//                           h2load --rps for open-loop (mesh) points, the server on
//                           --cpus (default 1) and h2load on the other CPUs
//   --out FILE --svg FILE   results JSON and chart (bench-results.json / .svg)
//   --profile DIR           run the server with node --cpu-prof, profiles into DIR
//   --node-args="A B"       node options for the server (default: those of `npm start`, as the image runs it)
//
// Every point starts a fresh server, so CPU and peak RSS belong to that point.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import hdr from 'hdr-histogram-js';
import { formatTable, renderSvg, type BenchResults, type PointResult } from './report.js';
import {
  DEFAULT_SCENARIOS,
  encodeRequest,
  loadMeshRequest,
  scenarioServerArgs,
  selectScenarios,
  type Scenario,
} from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';
import { findSustainedRate, formatSizing, type SizingRow } from './sizing.js';
import { startNodeFlags } from './start-command.js';
import { openLoop, preflight } from './h2load-client.js';
import { grpcMessage } from '../helpers/wire.js';
import {
  epochMs,
  newHistogram,
  type Load,
  type Schedule,
  type WorkerJob,
  type WorkerMessage,
  type WorkerResult,
} from './worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs from dist/bench/test/bench/. */
const ROOT = path.resolve(HERE, '../../../..');

export interface Options {
  target: 'adapter' | 'noop' | 'command';
  /** The server's shell command when target is 'command'. */
  targetCommand: string | undefined;
  warmupSeconds: number;
  measureSeconds: number;
  concurrency: number[];
  scenarios: Scenario[];
  /** Offered mesh requests/s for mesh scenarios; empty: search for the sustained rate. */
  meshRates: number[];
  p99TargetMs: number;
  cpus: number | undefined;
  serverArgs: string[];
  workers: number;
  client: 'node' | 'h2load';
  out: string;
  svg: string;
  profileDir: string | undefined;
  nodeArgs: string[];
}

const splitWords = (text: string): string[] => text.split(' ').filter((a) => a !== '');

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', default: 'adapter' },
      'target-command': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      scenarios: { type: 'string' },
      rates: { type: 'string' },
      p99: { type: 'string', default: '100' },
      cpus: { type: 'string' },
      'server-args': { type: 'string', default: '' },
      workers: { type: 'string', default: '1' },
      client: { type: 'string', default: 'node' },
      out: { type: 'string', default: 'bench-results.json' },
      svg: { type: 'string', default: 'bench-results.svg' },
      profile: { type: 'string' },
      'node-args': { type: 'string', default: startNodeFlags(ROOT).join(' ') },
    },
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${text}`);
    return n;
  };
  const list = (name: string, text: string): number[] => text.split(',').map((c) => positive(name, c));
  if (values.target !== 'adapter' && values.target !== 'noop') {
    throw new Error(`--target: expected adapter or noop, got ${values.target}`);
  }
  const scenarios =
    values.scenarios === undefined ? [...DEFAULT_SCENARIOS] : selectScenarios(values.scenarios.split(','));
  const smoke = values.smoke;
  if (values.client !== 'node' && values.client !== 'h2load') {
    throw new Error(`--client: expected node or h2load, got ${values.client}`);
  }
  if (values.client === 'h2load' && scenarios.some((s) => s.mesh === undefined)) {
    throw new Error('--client h2load: open loop only, so mesh scenarios only (--scenarios mesh_check_allow,...)');
  }
  return {
    target: values['target-command'] === undefined ? values.target : 'command',
    targetCommand: values['target-command'],
    warmupSeconds: positive('warmup', values.warmup ?? (smoke ? '0.2' : '1')),
    measureSeconds: positive('duration', values.duration ?? (smoke ? '0.5' : '5')),
    concurrency: list('concurrency', values.concurrency ?? (smoke ? '1,16' : '1,16,64')).map(Math.round),
    scenarios,
    meshRates: values.rates === undefined ? [] : list('rates', values.rates),
    p99TargetMs: positive('p99', values.p99),
    cpus:
      values.cpus === undefined
        ? values.client === 'h2load'
          ? 1
          : undefined
        : Math.round(positive('cpus', values.cpus)),
    serverArgs: splitWords(values['server-args']),
    workers: Math.round(positive('workers', values.workers)),
    client: values.client,
    out: path.resolve(values.out),
    svg: path.resolve(values.svg),
    profileDir: values.profile === undefined ? undefined : path.resolve(values.profile),
    nodeArgs: splitWords(values['node-args']),
  };
}

/** The CPUs the server leaves to the client (taskset -c): all but its last `cpus`. */
function clientCpus(cpus: number | undefined): string {
  const total = os.availableParallelism();
  return `0-${total - 1 - (cpus ?? 0)}`;
}

/** `taskset -c` over the last `cpus` CPUs, so the client keeps the first ones. */
function pinning(cpus: number | undefined): string[] {
  if (cpus === undefined) return [];
  const total = os.availableParallelism();
  if (cpus >= total) throw new Error(`--cpus ${cpus}: this machine has ${total}; leave the client one`);
  return ['taskset', '-c', `${total - cpus}-${total - 1}`];
}

function serverCommand(opts: Options, profileDir?: string, dir = '.'): string[] {
  if (opts.targetCommand !== undefined) {
    const command = opts.targetCommand.replaceAll('{port}', '0');
    return [...pinning(opts.cpus), 'bash', '-c', `cd '${dir}' && exec ${command}`];
  }
  const script =
    opts.target === 'adapter'
      ? path.join(ROOT, 'dist/src/bin.js')
      : path.join(ROOT, 'dist/bench/test/bench/noop-server.js');
  const args = ['0', '--host', '127.0.0.1'];
  if (opts.target === 'adapter') args.push('--log-level', 'warn', ...opts.serverArgs);
  const profiling = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  return [...pinning(opts.cpus), process.execPath, ...opts.nodeArgs, ...profiling, script, ...args];
}

/** Splits a load over at most `workers` workers: calls in flight, or calls/s. */
function shares(load: Load, workers: number): Load[] {
  if (load.kind === 'open') {
    return Array.from({ length: workers }, () => ({ kind: 'open', callsPerSec: load.callsPerSec / workers }));
  }
  const total = load.concurrency;
  const n = Math.min(total, workers);
  return Array.from({ length: n }, (_, i) => ({
    kind: 'closed',
    concurrency: Math.floor(total / n) + (i < total % n ? 1 : 0),
  }));
}

interface RunningWorker {
  /** Resolves once the worker's channel is connected. */
  ready: Promise<void>;
  start(schedule: Schedule): void;
  result: Promise<WorkerResult>;
}

function startWorker(job: WorkerJob): RunningWorker {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<WorkerResult>((resolve, reject) => {
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') onReady();
      else if (msg.type === 'done') resolve(msg.result);
      else reject(new Error(`worker: ${msg.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
  });
  return {
    ready: Promise.race([ready, result.then(() => undefined)]),
    start: (schedule) => worker.postMessage(schedule),
    result,
  };
}

/** h2load in a worker's place: checked once through gRPC, then started on the schedule. */
async function h2loadWorker(
  address: string,
  scenario: Scenario,
  request: Buffer,
  expectCheckCode: number | undefined,
  callsPerSec: number,
  dir: string,
  serverCpus: number | undefined,
): Promise<RunningWorker> {
  await preflight('the server', address, scenario, request, expectCheckCode);
  const frameFile = path.join(dir, 'request.frame');
  writeFileSync(frameFile, grpcMessage(request));
  const job = { address, path: scenario.path, frameFile, callsPerSec, cpus: clientCpus(serverCpus) };
  let start: (schedule: Schedule) => void = () => undefined;
  const scheduled = new Promise<Schedule>((resolve) => (start = resolve));
  const result = scheduled.then(async (schedule) => {
    await sleepUntil(schedule.startAt);
    return openLoop({ ...job, logFile: path.join(dir, 'h2load.log') }, schedule);
  });
  return { ready: Promise.resolve(), start, result };
}

const sleepUntil = (epoch: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, epoch - epochMs())));

/** Measures one scenario under one load against a fresh server. */
export async function runPoint(opts: Options, scenario: Scenario, load: Load): Promise<PointResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mygrpcadapter-bench-'));
  const filePath = path.join(dir, 'out.txt');
  const [command, ...args] = serverCommand(opts, opts.profileDir, dir);
  // The adapter only writes inside its data dir.
  if (opts.target === 'adapter') args.push('--data-dir', dir, ...scenarioServerArgs(ROOT, scenario, dir));
  let server: ServerProcess | undefined;
  try {
    server = await startServer(command!, args, ROOT);
    const request = scenario.mesh ? loadMeshRequest(ROOT, scenario) : encodeRequest(scenario, filePath);
    // The no-op server answers OK to everything; only the adapter's decisions are checked.
    const expectCheckCode = opts.target === 'noop' ? undefined : scenario.expectCheckCode;
    const workers =
      opts.client === 'h2load' && load.kind === 'open'
        ? [await h2loadWorker(server.address, scenario, request, expectCheckCode, load.callsPerSec, dir, opts.cpus)]
        : shares(load, opts.workers).map((share) =>
            startWorker({
              address: server!.address,
              path: scenario.path,
              request,
              load: share,
              expectCheckCode,
            }),
          );
    await Promise.all(workers.map((w) => w.ready));
    const startAt = epochMs() + 20;
    const measureAt = startAt + opts.warmupSeconds * 1000;
    const stopAt = measureAt + opts.measureSeconds * 1000;
    for (const w of workers) w.start({ startAt, measureAt, stopAt });
    const running = Promise.all(workers.map((w) => w.result));
    const srv = server;
    // CPU is sampled at the window's edges, not when the workers report.
    const cpu = (async () => {
      await sleepUntil(measureAt);
      const before = srv.cpuSeconds();
      await sleepUntil(stopAt);
      return { before, atStop: srv.cpuSeconds() };
    })();
    const [results, cpuAt] = await Promise.all([running, cpu]);
    // A worker that had to wait past the stop for its first call stretches the window.
    const until = Math.max(stopAt, ...results.map((r) => r.measuredUntil));
    const seconds = (until - measureAt) / 1000;
    const cpuSeconds = (until > stopAt ? srv.cpuSeconds() : cpuAt.atStop) - cpuAt.before;
    const peakRss = server.peakRssBytes();
    const histogram = newHistogram();
    for (const r of results) histogram.add(hdr.decodeFromCompressedBase64(r.histogram));
    const calls = results.reduce((n, r) => n + r.calls, 0);
    const offered = results.reduce((n, r) => n + r.offered, 0);
    const meshPerCall = scenario.mesh?.requestsPerCall;
    const ms = (us: number): number => us / 1000;
    let fileMB = 0;
    try {
      fileMB = statSync(filePath).size / 1e6;
    } catch {
      // stdout scenarios write no file
    }
    const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
    return {
      scenario: scenario.name,
      concurrency: load.kind === 'closed' ? load.concurrency : 0,
      ...(load.kind === 'open' ? { offeredCallsPerSec: offered / seconds } : {}),
      ...(meshPerCall === undefined
        ? {}
        : { meshRequestsPerCall: meshPerCall, meshRequestsPerSec: (calls * meshPerCall) / seconds }),
      instancesPerCall: scenario.instancesPerCall,
      calls,
      measuredSeconds: seconds,
      callsPerSec: calls / seconds,
      instancesPerSec: (calls * scenario.instancesPerCall) / seconds,
      latencyMs: {
        p50: ms(histogram.getValueAtPercentile(50)),
        p90: ms(histogram.getValueAtPercentile(90)),
        p99: ms(histogram.getValueAtPercentile(99)),
        p999: ms(histogram.getValueAtPercentile(99.9)),
        max: ms(histogram.maxValue),
      },
      // Open loop: a call still unanswered OPEN_LOOP_GRACE_MS after the stop fails its deadline and counts here.
      errors: results.reduce((n, r) => n + r.errors, 0),
      wrongAnswers: results.reduce((n, r) => n + r.wrongAnswers, 0),
      ...(firstError === undefined ? {} : { firstError }),
      cpuPercent: (cpuSeconds / seconds) * 100,
      cpuUsPerCall: calls > 0 ? (cpuSeconds * 1e6) / calls : 0,
      peakRssMB: peakRss / 1e6,
      fileMB,
    };
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A bar redrawn in place on a terminal; one line per finished point otherwise. */
class Progress {
  private timer: NodeJS.Timeout | undefined;
  private label = '';
  private pointStarted = 0;
  private readonly tty = process.stderr.isTTY;

  constructor(
    private readonly total: number,
    private readonly pointSeconds: number,
  ) {}

  start(done: number, label: string): void {
    this.label = label;
    this.pointStarted = Date.now();
    if (!this.tty) return;
    clearInterval(this.timer);
    const draw = (): void => {
      const within = Math.min(1, (Date.now() - this.pointStarted) / 1000 / this.pointSeconds);
      const fraction = (done + within) / this.total;
      const width = 30;
      const filled = Math.round(fraction * width);
      const left = Math.max(0, (this.total - done - within) * this.pointSeconds);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ${this.label.padEnd(24)} ~${left.toFixed(0)} s left \x1b[K`,
      );
    };
    draw();
    this.timer = setInterval(draw, 200);
  }

  finished(done: number, summary: string): void {
    if (this.tty) {
      clearInterval(this.timer);
      process.stderr.write('\r\x1b[K');
    }
    process.stderr.write(`[${done}/${this.total}] ${this.label}: ${summary}\n`);
  }
}

/** A point's label and the loads to run, per scenario. */
function plannedLoads(opts: Options, scenario: Scenario): Load[] {
  if (!scenario.mesh) return opts.concurrency.map((concurrency) => ({ kind: 'closed', concurrency }));
  const perCall = scenario.mesh.requestsPerCall;
  return opts.meshRates.map((rate) => ({ kind: 'open', callsPerSec: rate / perCall }));
}

const loadLabel = (load: Load): string =>
  load.kind === 'closed' ? `c=${load.concurrency}` : `${load.callsPerSec.toFixed(0)} calls/s offered`;

function pointSummary(point: PointResult): string {
  const bad = point.errors + point.wrongAnswers;
  const mesh = point.meshRequestsPerSec === undefined ? '' : ` (${point.meshRequestsPerSec.toFixed(0)} mesh req/s)`;
  return (
    `${point.callsPerSec.toFixed(0)} calls/s${mesh}, p99 ${point.latencyMs.p99.toFixed(2)} ms` +
    (bad > 0 ? `, ${bad} errors (${point.firstError})` : '')
  );
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const [, ...serverArgs] = serverCommand(opts);
  const results: BenchResults = {
    target: opts.target,
    command: [
      opts.cpus === undefined ? 'node' : `taskset(${opts.cpus} CPU) node`,
      ...serverArgs.slice(pinning(opts.cpus).length),
    ]
      .map((a) => (path.isAbsolute(a) ? path.relative(ROOT, a) : a))
      .join(' '),
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    warmupSeconds: opts.warmupSeconds,
    measureSeconds: opts.measureSeconds,
    workers: opts.workers,
    points: [],
  };
  const pointSeconds = opts.warmupSeconds + opts.measureSeconds + 0.6;
  const searching = opts.scenarios.filter((s) => s.mesh !== undefined && opts.meshRates.length === 0);
  const plan = opts.scenarios.flatMap((s) => plannedLoads(opts, s).map((load) => [s, load] as const));
  // A search takes about ten points per scenario; the bar counts them as such.
  const progress = new Progress(plan.length + searching.length * 10, pointSeconds);
  let done = 0;
  for (const [scenario, load] of plan) {
    progress.start(done, `${scenario.name} ${loadLabel(load)}`);
    const point = await runPoint(opts, scenario, load);
    results.points.push(point);
    progress.finished(++done, pointSummary(point));
  }
  const sizing: SizingRow[] = [];
  for (const scenario of searching) {
    const row = await findSustainedRate(scenario, opts.p99TargetMs, async (meshRate) => {
      const load: Load = { kind: 'open', callsPerSec: meshRate / scenario.mesh!.requestsPerCall };
      progress.start(done, `${scenario.name} ${meshRate.toFixed(0)} mesh req/s`);
      const point = await runPoint(opts, scenario, load);
      results.points.push(point);
      progress.finished(++done, pointSummary(point));
      return point;
    });
    sizing.push(row);
  }
  process.stdout.write(
    `target ${opts.target}: ${results.command}; ${opts.warmupSeconds} s warm-up + ${opts.measureSeconds} s per point, ` +
      `${opts.workers} worker(s), node ${process.version}, ${results.cpus} CPUs\n`,
  );
  process.stdout.write(formatTable(results.points));
  if (sizing.length > 0) {
    results.sizing = sizing;
    process.stdout.write(`\n${formatSizing(sizing, opts.p99TargetMs)}`);
  }
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(opts.svg, renderSvg(results));
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), opts.out)} and ${path.relative(process.cwd(), opts.svg)}\n`,
  );
  // A sizing search probes rates that fail on purpose; only fixed points must be clean.
  const fixed = results.points.slice(0, plan.length);
  if (fixed.some((p) => p.errors + p.wrongAnswers > 0 || p.calls === 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});

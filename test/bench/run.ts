// `npm run bench [-- options]`: the adapter (or the no-op ceiling) under load
// from grpc-js clients in worker threads, one connection per worker.
//
//   --target adapter|noop   server to measure (default adapter)
//   --smoke                 0.2 s warm-up + 0.5 s per point, concurrency 1 and 16
//   --warmup S --duration S seconds of warm-up and of measurement per point (1, 5)
//   --concurrency 1,16,64   calls in flight
//   --scenarios a,b         subset of the scenarios (default all)
//   --workers N             worker threads, each with its own connection (1)
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
import { encodeRequest, SCENARIOS, type Scenario } from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';
import { startNodeFlags } from './start-command.js';
import {
  epochMs,
  newHistogram,
  type Schedule,
  type WorkerJob,
  type WorkerMessage,
  type WorkerResult,
} from './worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs from dist/bench/test/bench/. */
const ROOT = path.resolve(HERE, '../../../..');

interface Options {
  target: 'adapter' | 'noop';
  warmupSeconds: number;
  measureSeconds: number;
  concurrency: number[];
  scenarios: Scenario[];
  workers: number;
  out: string;
  svg: string;
  profileDir: string | undefined;
  nodeArgs: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', default: 'adapter' },
      smoke: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      scenarios: { type: 'string' },
      workers: { type: 'string', default: '1' },
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
  if (values.target !== 'adapter' && values.target !== 'noop') {
    throw new Error(`--target: expected adapter or noop, got ${values.target}`);
  }
  const names = values.scenarios?.split(',') ?? SCENARIOS.map((s) => s.name);
  const scenarios = names.map((n) => {
    const s = SCENARIOS.find((x) => x.name === n);
    if (!s) throw new Error(`--scenarios: unknown ${n}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
    return s;
  });
  const smoke = values.smoke;
  const concurrency = (values.concurrency ?? (smoke ? '1,16' : '1,16,64'))
    .split(',')
    .map((c) => positive('concurrency', c));
  return {
    target: values.target,
    warmupSeconds: positive('warmup', values.warmup ?? (smoke ? '0.2' : '1')),
    measureSeconds: positive('duration', values.duration ?? (smoke ? '0.5' : '5')),
    concurrency: concurrency.map(Math.round),
    scenarios,
    workers: Math.round(positive('workers', values.workers)),
    out: path.resolve(values.out),
    svg: path.resolve(values.svg),
    profileDir: values.profile === undefined ? undefined : path.resolve(values.profile),
    nodeArgs: values['node-args'].split(' ').filter((a) => a !== ''),
  };
}

function serverCommand(target: Options['target'], nodeArgs: string[], profileDir?: string): string[] {
  const script =
    target === 'adapter' ? path.join(ROOT, 'dist/src/bin.js') : path.join(ROOT, 'dist/bench/test/bench/noop-server.js');
  const args = ['0', '--host', '127.0.0.1'];
  if (target === 'adapter') args.push('--log-level', 'warn');
  const profiling = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  return [process.execPath, ...nodeArgs, ...profiling, script, ...args];
}

/** Splits `total` calls in flight over at most `workers` workers. */
function shares(total: number, workers: number): number[] {
  const n = Math.min(total, workers);
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
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

const sleepUntil = (epoch: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, epoch - epochMs())));

async function runPoint(opts: Options, scenario: Scenario, concurrency: number): Promise<PointResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mygrpcadapter-bench-'));
  const filePath = path.join(dir, 'out.txt');
  const [command, ...args] = serverCommand(opts.target, opts.nodeArgs, opts.profileDir);
  // The adapter only writes inside its data dir.
  if (opts.target === 'adapter') args.push('--data-dir', dir);
  let server: ServerProcess | undefined;
  try {
    server = await startServer(command!, args, ROOT);
    const request = encodeRequest(scenario, filePath);
    const workers = shares(concurrency, opts.workers).map((c) =>
      startWorker({
        address: server!.address,
        path: scenario.path,
        request,
        concurrency: c,
        // The no-op server answers OK to everything; only the adapter's decisions are checked.
        expectCheckCode: opts.target === 'adapter' ? scenario.expectCheckCode : undefined,
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
      concurrency,
      instancesPerCall: scenario.instancesPerCall,
      calls,
      measuredSeconds: seconds,
      callsPerSec: calls / seconds,
      instancesPerSec: (calls * scenario.instancesPerCall) / seconds,
      latencyMs: {
        p50: ms(histogram.getValueAtPercentile(50)),
        p90: ms(histogram.getValueAtPercentile(90)),
        p99: ms(histogram.getValueAtPercentile(99)),
        max: ms(histogram.maxValue),
      },
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

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const [, ...serverArgs] = serverCommand(opts.target, opts.nodeArgs);
  const results: BenchResults = {
    target: opts.target,
    command: ['node', ...serverArgs.map((a) => (path.isAbsolute(a) ? path.relative(ROOT, a) : a))].join(' '),
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    warmupSeconds: opts.warmupSeconds,
    measureSeconds: opts.measureSeconds,
    workers: opts.workers,
    points: [],
  };
  const plan = opts.scenarios.flatMap((s) => opts.concurrency.map((c) => [s, c] as const));
  const progress = new Progress(plan.length, opts.warmupSeconds + opts.measureSeconds + 0.6);
  for (const [i, [scenario, concurrency]] of plan.entries()) {
    progress.start(i, `${scenario.name} c=${concurrency}`);
    const point = await runPoint(opts, scenario, concurrency);
    results.points.push(point);
    const bad = point.errors + point.wrongAnswers;
    progress.finished(
      i + 1,
      `${point.callsPerSec.toFixed(0)} calls/s, p99 ${point.latencyMs.p99.toFixed(2)} ms` +
        (bad > 0 ? `, ${bad} errors (${point.firstError})` : ''),
    );
  }
  process.stdout.write(
    `target ${opts.target}: ${results.command}; ${opts.warmupSeconds} s warm-up + ${opts.measureSeconds} s per point, ` +
      `${opts.workers} worker(s), node ${process.version}, ${results.cpus} CPUs\n`,
  );
  process.stdout.write(formatTable(results.points));
  writeFileSync(opts.out, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(opts.svg, renderSvg(results));
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), opts.out)} and ${path.relative(process.cwd(), opts.svg)}\n`,
  );
  if (results.points.some((p) => p.errors + p.wrongAnswers > 0 || p.calls === 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});

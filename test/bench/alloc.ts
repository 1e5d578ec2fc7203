// `npm run bench:alloc [-- options]`: JavaScript heap the server's main thread
// allocates per call, and where. For each scenario a fresh server (the built
// adapter, or the no-op server as grpc-js's floor) is started with
// alloc-probe.js preloaded; the bench sends `--warmup` calls, then counts what
// the server allocates over `--calls` more, `--concurrency` in flight, over
// one real loopback gRPC connection. Counting is exact (GC before/after
// statistics, see alloc-probe.ts) and does not depend on timing, so runs
// repeat to within a few percent.
//
//   --scenarios a,b        (default mesh_check_allow,mesh_check_deny,mesh_report1,mesh_report100)
//   --target adapter|noop  (default adapter)
//   --calls N --warmup N   measured and warm-up calls (20000, 5000)
//   --concurrency C        calls in flight (1)
//   --server-args="A B"    extra adapter flags (default: --decode-workers=0, so every
//                          allocation is on the measured thread)
//   --profile              then a second run with the sampling heap profiler: the
//                          top allocating functions, grouped by package / src folder
//   --top N                functions listed per scenario (20)
//   --sampling-interval B  bytes between heap samples (256)
//   --callers N            name each allocating function with N of its callers (0)
//   --json FILE            the results as JSON
//
// CPU µs per call is read from /proc over the measured calls (10 ms ticks:
// use enough calls); at concurrency 1 it includes each call's idle wake-ups.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { ProbeReply, ProbeRequest, ProbeResult, SamplingHeapProfileNode } from './alloc-probe.js';
import { encodeRequest, loadMeshRequest, selectScenarios, type Scenario } from './scenarios.js';
import { startServer, type ServerProcess } from './server-process.js';
import { startNodeFlags } from './start-command.js';
import { identity, wrongCheckResult } from './worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The repository root: this file runs from dist/bench/test/bench/. */
const ROOT = path.resolve(HERE, '../../../..');

const DEFAULT_SCENARIO_NAMES = 'mesh_check_allow,mesh_check_deny,mesh_report1,mesh_report100';

interface Options {
  target: 'adapter' | 'noop';
  scenarios: Scenario[];
  calls: number;
  warmup: number;
  concurrency: number;
  serverArgs: string[];
  profile: boolean;
  top: number;
  samplingInterval: number;
  json: string | undefined;
  callers: number;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string', default: 'adapter' },
      scenarios: { type: 'string', default: DEFAULT_SCENARIO_NAMES },
      calls: { type: 'string', default: '20000' },
      warmup: { type: 'string', default: '5000' },
      concurrency: { type: 'string', default: '1' },
      'server-args': { type: 'string', default: '--decode-workers=0' },
      profile: { type: 'boolean', default: false },
      top: { type: 'string', default: '20' },
      'sampling-interval': { type: 'string', default: '256' },
      json: { type: 'string' },
      callers: { type: 'string', default: '0' },
    },
  });
  const count = (name: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: expected a positive integer, got ${text}`);
    return n;
  };
  if (values.target !== 'adapter' && values.target !== 'noop') {
    throw new Error(`--target: expected adapter or noop, got ${values.target}`);
  }
  return {
    target: values.target,
    scenarios: selectScenarios(values.scenarios.split(',')),
    calls: count('calls', values.calls),
    warmup: count('warmup', values.warmup),
    concurrency: count('concurrency', values.concurrency),
    serverArgs: values['server-args'].split(' ').filter((a) => a !== ''),
    profile: values.profile,
    top: count('top', values.top),
    samplingInterval: count('sampling-interval', values['sampling-interval']),
    json: values.json === undefined ? undefined : path.resolve(values.json),
    callers: Number(values.callers),
  };
}

/** Asks the probe in the server and waits for its answer. */
function probe(server: ServerProcess, request: ProbeRequest): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const child = server.child;
    const onMessage = (reply: ProbeReply): void => {
      child.off('exit', onExit);
      if (reply.type === 'error') reject(new Error(`probe: ${reply.error}`));
      else resolve(reply);
    };
    const onExit = (): void => reject(new Error(`server exited; stderr: ${server.stderr()}`));
    child.once('message', onMessage);
    child.once('exit', onExit);
    child.send(request);
  });
}

/** Sends `calls` calls, `concurrency` at a time; rejects on the first failed or wrong answer. */
function sendCalls(client: grpc.Client, scenario: Scenario, request: Buffer, calls: number, concurrency: number) {
  return new Promise<void>((resolve, reject) => {
    let started = 0;
    let finished = 0;
    let failed = false;
    const next = (): void => {
      if (failed || started >= calls) return;
      started++;
      client.makeUnaryRequest(scenario.path, identity, identity, request, (err, reply) => {
        const wrong =
          err || !reply
            ? (err?.message ?? 'empty reply')
            : scenario.expectCheckCode === undefined
              ? undefined
              : wrongCheckResult(reply, scenario.expectCheckCode, scenario.path);
        if (wrong !== undefined) {
          failed = true;
          reject(new Error(`${scenario.name}: ${wrong}`));
          return;
        }
        if (++finished === calls) resolve();
        else next();
      });
    };
    for (let i = 0; i < Math.min(concurrency, calls); i++) next();
  });
}

interface Measured {
  scenario: string;
  calls: number;
  concurrency: number;
  bytesPerCall: number;
  scavengesPer1000Calls: number;
  markCompacts: number;
  cpuUsPerCall: number;
  /** Sampling run: top functions and groups (bytes per call, scaled to the counted total). */
  sites?: Site[];
  groups?: { group: string; bytesPerCall: number }[];
}

interface Site {
  site: string;
  group: string;
  bytesPerCall: number;
}

function serverCommand(opts: Options, dataDir: string): string[] {
  const probe = path.relative(ROOT, path.join(HERE, 'alloc-probe.js'));
  const node = [process.execPath, ...startNodeFlags(ROOT), '--import', `./${probe}`];
  if (opts.target === 'noop') return [...node, path.join(HERE, 'noop-server.js'), '0', '--host', '127.0.0.1'];
  return [
    ...node,
    path.join(ROOT, 'dist/src/bin.js'),
    '0',
    '--host',
    '127.0.0.1',
    '--log-level',
    'warn',
    '--data-dir',
    dataDir,
    ...opts.serverArgs,
  ];
}

/** One fresh server: warm-up calls, then `opts.calls` counted (and sampled when `sample`). */
async function measure(opts: Options, scenario: Scenario, sample: boolean): Promise<ProbeResult & { cpu: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mygrpcadapter-alloc-'));
  const [command, ...args] = serverCommand(opts, dir);
  let server: ServerProcess | undefined;
  let client: grpc.Client | undefined;
  try {
    server = await startServer(command!, args, ROOT, { ipc: true });
    const request = scenario.mesh
      ? loadMeshRequest(ROOT, scenario)
      : encodeRequest(scenario, path.join(dir, 'out.txt'));
    client = new grpc.Client(server.address, grpc.credentials.createInsecure());
    await sendCalls(client, scenario, request, opts.warmup, opts.concurrency);
    await probe(server, sample ? { type: 'start', samplingInterval: opts.samplingInterval } : { type: 'start' });
    const cpuBefore = server.cpuSeconds();
    await sendCalls(client, scenario, request, opts.calls, opts.concurrency);
    const cpu = server.cpuSeconds() - cpuBefore;
    const reply = await probe(server, { type: 'stop' });
    if (reply.type !== 'stopped') throw new Error(`probe answered ${reply.type}`);
    return { ...reply.result, cpu };
  } finally {
    client?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node's own modules and V8's builtins: charged to the nearest caller that is not one. */
function isNodeOrNative(url: string, functionName: string): boolean {
  return url.startsWith('node:') || (url === '' && !functionName.startsWith('('));
}

/** The package or src folder a frame belongs to. */
function groupOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : 'V8 builtins';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const src = url.indexOf('/dist/src/');
  if (src >= 0) {
    const rest = url.slice(src + '/dist/src/'.length);
    const slash = rest.indexOf('/');
    return `ours: src/${slash < 0 ? rest : rest.slice(0, slash)}`;
  }
  if (url.includes('/dist/bench/')) return 'the probe';
  if (url.startsWith('node:')) return 'node';
  return url;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  const j = url.indexOf('/dist/src/');
  return j >= 0 ? url.slice(j + '/dist/'.length) : url;
}

/** Self bytes per allocating function, and per group of the nearest frame that is not node's or V8's. */
function attribute(head: SamplingHeapProfileNode, total: number, calls: number, top: number, callers: number) {
  const sites = new Map<string, Site>();
  const groups = new Map<string, number>();
  let sampled = 0;
  const frame = (n: SamplingHeapProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const stack: SamplingHeapProfileNode[] = [];
  const walk = (node: SamplingHeapProfileNode, owner: string): void => {
    const f = node.callFrame;
    const own = isNodeOrNative(f.url, f.functionName) ? owner : groupOf(f.url, f.functionName);
    if (node.selfSize > 0) {
      sampled += node.selfSize;
      let key = frame(node);
      for (let i = 1; i <= callers && i <= stack.length; i++) key += ` < ${frame(stack[stack.length - i]!)}`;
      const site = sites.get(key) ?? { site: key, group: own, bytesPerCall: 0 };
      site.bytesPerCall += node.selfSize;
      sites.set(key, site);
      groups.set(own, (groups.get(own) ?? 0) + node.selfSize);
    }
    stack.push(node);
    for (const child of node.children) walk(child, own);
    stack.pop();
  };
  walk(head, '(no JavaScript frame)');
  // Samples are estimates; scale them to the exact count.
  const scale = sampled > 0 ? total / sampled / calls : 0;
  return {
    sites: [...sites.values()]
      .map((s) => ({ ...s, bytesPerCall: s.bytesPerCall * scale }))
      .sort((a, b) => b.bytesPerCall - a.bytesPerCall)
      .slice(0, top),
    groups: [...groups]
      .map(([group, bytes]) => ({ group, bytesPerCall: bytes * scale }))
      .sort((a, b) => b.bytesPerCall - a.bytesPerCall),
  };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const results: Measured[] = [];
  const command = serverCommand(opts, '$DIR')
    .map((a) => (a === process.execPath ? 'node' : path.isAbsolute(a) ? path.relative(ROOT, a) : a))
    .join(' ');
  process.stdout.write(
    `target ${opts.target}: ${command}\n${opts.warmup} warm-up + ${opts.calls} counted calls per scenario, ` +
      `concurrency ${opts.concurrency}, node ${process.version}\n\n`,
  );
  process.stdout.write('scenario            bytes/call  scavenges/1000 calls  mark-compacts  cpu µs/call\n');
  for (const scenario of opts.scenarios) {
    const counted = await measure(opts, scenario, false);
    const m: Measured = {
      scenario: scenario.name,
      calls: opts.calls,
      concurrency: opts.concurrency,
      bytesPerCall: counted.allocatedBytes / opts.calls,
      scavengesPer1000Calls: (counted.scavenges * 1000) / opts.calls,
      markCompacts: counted.markCompacts,
      cpuUsPerCall: (counted.cpu * 1e6) / opts.calls,
    };
    process.stdout.write(
      `${scenario.name.padEnd(18)} ${m.bytesPerCall.toFixed(0).padStart(11)} ${m.scavengesPer1000Calls
        .toFixed(2)
        .padStart(21)} ${String(m.markCompacts).padStart(14)} ${m.cpuUsPerCall.toFixed(1).padStart(12)}\n`,
    );
    results.push(m);
  }
  if (opts.profile) {
    for (const m of results) {
      const scenario = opts.scenarios.find((s) => s.name === m.scenario)!;
      const sampled = await measure(opts, scenario, true);
      const { sites, groups } = attribute(
        sampled.profile!.head,
        m.bytesPerCall * opts.calls,
        opts.calls,
        opts.top,
        opts.callers,
      );
      m.sites = sites;
      m.groups = groups;
      process.stdout.write(`\n${m.scenario}: ${m.bytesPerCall.toFixed(0)} bytes/call, by group\n`);
      for (const g of groups) {
        process.stdout.write(`${g.bytesPerCall.toFixed(0).padStart(8)}  ${g.group}\n`);
      }
      process.stdout.write(`top ${opts.top} allocating functions (bytes/call, group)\n`);
      for (const s of sites) {
        process.stdout.write(`${s.bytesPerCall.toFixed(0).padStart(8)}  ${s.site}  [${s.group}]\n`);
      }
    }
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ command, node: process.version, results }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:alloc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
});

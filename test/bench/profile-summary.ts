// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
// per group (grpc-js, http2, protobufjs, our decode, formatting, ...).
//
//   node dist/bench/test/bench/profile-summary.js FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Ordered: the first rule that matches names the group. */
const GROUPS: [string, (f: CallFrame) => boolean][] = [
  ['idle', (f) => f.functionName === '(idle)'],
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['native/program', (f) => f.functionName === '(program)'],
  [
    'protobufjs generated decode/toObject',
    (f) => f.url === '' && /\$(decode|toObject|fromObject)/.test(f.functionName),
  ],
  ['proto-loader', (f) => f.url.includes('@grpc/proto-loader')],
  ['protobufjs', (f) => f.url.includes('/protobufjs/') || f.url.includes('/long/')],
  ['grpc-js', (f) => f.url.includes('@grpc/grpc-js')],
  ['http2/net (node)', (f) => /node:(internal\/)?(http2|net|stream|internal\/stream)/.test(f.url)],
  ['our wire decoder (metric requests)', (f) => f.url.includes('/src/protocol/')],
  ['our decode', (f) => f.url.includes('/src/decode/')],
  ['our formatting', (f) => f.url.includes('/src/format/')],
  ['our sinks (+file writes)', (f) => f.url.includes('/src/sinks/')],
  ['our server/handler', (f) => f.url.includes('/src/server/') || f.url.includes('/src/policy/')],
  ['fs (file writes)', (f) => /node:(internal\/)?fs/.test(f.url)],
  ['logging (pino)', (f) => f.url.includes('/pino')],
  ['lru-cache', (f) => f.url.includes('/lru-cache/')],
  ['node internals (other)', (f) => f.url.startsWith('node:')],
  ['other', () => true],
];

/**
 * Native code (no url: utf8Write, Buffer compare) and node's Buffer helpers
 * are charged to the group of the code that called them.
 */
function isNative(f: CallFrame): boolean {
  if (f.url === 'node:buffer' || f.url === 'node:internal/buffer') return true;
  return f.url === '' && !f.functionName.startsWith('(') && !/\$(decode|toObject|fromObject)/.test(f.functionName);
}

function groupOf(f: CallFrame): string {
  return GROUPS.find(([, test]) => test(f))![0];
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  const j = url.indexOf('/dist/');
  return j >= 0 ? url.slice(j + 1) : url;
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const callerFrame = (id: number): CallFrame => {
    let at: number | undefined = id;
    while (at !== undefined && isNative(byId.get(at)!.callFrame)) at = parentOf.get(at);
    return at === undefined ? byId.get(id)!.callFrame : byId.get(at)!.callFrame;
  };
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; charge it to the sample before.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const byFunction = new Map<string, { us: number; group: string }>();
  const byGroup = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const caller = callerFrame(id);
    const group = groupOf(caller);
    const key = isNative(f)
      ? `${f.functionName} (native, from ${caller.functionName || '(anonymous)'} ${shortUrl(caller.url)})`
      : `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    const entry = byFunction.get(key) ?? { us: 0, group };
    entry.us += us;
    byFunction.set(key, entry);
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    total += us;
    if (group !== 'idle') busy += us;
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  process.stdout.write(
    `${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy)\n\n`,
  );
  process.stdout.write('group                                      self\n');
  for (const [group, us] of [...byGroup].sort((a, b) => b[1] - a[1])) {
    if (group === 'idle') continue;
    process.stdout.write(`${group.padEnd(40)} ${pct(us)}\n`);
  }
  process.stdout.write(`\ntop ${values.top} functions by self time\n`);
  const top = [...byFunction].filter(([, e]) => e.group !== 'idle').sort((a, b) => b[1].us - a[1].us);
  for (const [key, e] of top.slice(0, Number(values.top))) {
    process.stdout.write(`${pct(e.us)}  ${key}  [${e.group}]\n`);
  }
}

main();

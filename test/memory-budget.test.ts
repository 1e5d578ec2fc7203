// One memory budget (issue: bounds under a container limit): the container's
// limit, or --memory-limit, sizes the V8 heap and the default of every bound
// a client can fill; without one, the defaults are those of the Deployment's
// 256 MiB and the heap is V8's own.
import { describe, expect, it } from 'vitest';
import { memoryBudget, NATIVE_RESERVE_BYTES, REFERENCE_LIMIT_BYTES, shareOf } from '../src/options/memory-budget.js';
import { readServeOptions, SERVE_FLAGS } from '../src/options/serve-flags.js';
import { FlagProblems } from '../src/options/read-flags.js';
import { MiB } from './helpers/child-memory.js';
import { BIN, startCli, stopCli } from './helpers/cli.js';
import { DEPLOYMENT_LIMIT, imageNodeMajor, nodeRelease, startAsDeployment } from './helpers/deployment.js';
import { itWith } from './helpers/peers.js';
import { waitFor } from './helpers/wait.js';

/** The flags whose default is a share of the budget, by options key. */
const BUDGETED = SERVE_FLAGS.filter((f) => f.share !== undefined).map((f) => f.key);
const SIZES = [
  'handlerCacheBytes',
  'maxDecodeBytes',
  'maxPendingRequestBytes',
  'prometheusMaxBytes',
  'sinkBufferBytes',
  'sinkModuleHeapBytes',
];

describe('memoryBudget', () => {
  it('without a limit: the shares of 256 MiB, and no heap size of its own', () => {
    expect(memoryBudget(undefined, 1 / 8, undefined)).toEqual({
      bytes: REFERENCE_LIMIT_BYTES,
      source: 'none',
      heapMb: undefined,
    });
  });

  it("the container's limit: the heap is what the native reserve and the buffers outside the heap leave", () => {
    const budget = memoryBudget(undefined, 1 / 8, 256 * MiB);
    expect(budget).toEqual({ bytes: 256 * MiB, source: 'cgroup', heapMb: 256 - 104 - 32 });
    expect(NATIVE_RESERVE_BYTES).toBe(104 * MiB);
  });

  it('--memory-limit wins over the container; 0 means none', () => {
    expect(memoryBudget(512 * MiB, 1 / 8, 256 * MiB)).toEqual({ bytes: 512 * MiB, source: 'flag', heapMb: 344 });
    expect(memoryBudget(0, 1 / 8, 256 * MiB).source).toBe('none');
  });

  it('a limit too small for the reserve still gives the heap its minimum', () => {
    expect(memoryBudget(undefined, 1 / 8, 100 * MiB).heapMb).toBe(32);
  });

  it('shares are whole bytes, at least their minimum', () => {
    expect(shareOf({ bytes: 256 * MiB }, 1 / 16)).toBe(16 * MiB);
    expect(shareOf({ bytes: 1000 }, 1 / 16, 4096)).toBe(4096);
  });
});

describe('--memory-limit and the defaults it sizes', () => {
  it('gives every budgeted flag its share: at 256Mi the documented defaults', () => {
    expect(BUDGETED.sort()).toEqual([...SIZES].sort());
    const at256 = readServeOptions({ 'memory-limit': '256Mi' });
    expect(at256.memory).toEqual({ bytes: 256 * MiB, source: 'flag', heapMb: 120 });
    expect({
      handlerCacheBytes: at256.handlerCacheBytes,
      maxDecodeBytes: at256.maxDecodeBytes,
      maxPendingRequestBytes: at256.maxPendingRequestBytes,
      prometheusMaxBytes: at256.prometheusMaxBytes,
      sinkBufferBytes: at256.sinkBufferBytes,
      sinkModuleHeapBytes: at256.sinkModuleHeapBytes,
    }).toEqual({
      handlerCacheBytes: 16 * MiB,
      maxDecodeBytes: 32 * MiB,
      maxPendingRequestBytes: 16 * MiB,
      prometheusMaxBytes: 8 * MiB,
      sinkBufferBytes: 16 * MiB,
      sinkModuleHeapBytes: 32 * MiB,
    });
  });

  it('refuses request bytes in arrival below the largest request, naming both flags', () => {
    expect(() => readServeOptions({ 'max-message-bytes': '20Mi' })).toThrow(
      /^--max-pending-request-bytes \(16777216\) is less than --max-message-bytes \(20971520\): the largest request could never arrive/,
    );
    expect(readServeOptions({ 'max-message-bytes': '20Mi', 'memory-limit': '512Mi' }).maxPendingRequestBytes).toBe(
      32 * MiB,
    );
  });

  it("takes each sink plug-in's worker heap off the adapter's own", () => {
    const one = readServeOptions({ 'memory-limit': '512Mi', 'sink-module': ['a=./a.mjs'] });
    const two = readServeOptions({ 'memory-limit': '512Mi', 'sink-module': ['a=./a.mjs', 'b=./b.mjs'] });
    expect(one.memory.heapMb).toBe(512 - 104 - 64 - 64);
    expect(two.memory.heapMb).toBe(512 - 104 - 64 - 128);
  });

  it("takes the Envoy front-ends' share off the heap when --operator-config is given", () => {
    const envoy = readServeOptions({ 'memory-limit': '256Mi', 'operator-config': ['operatorconfig'] });
    expect(envoy.memory.heapMb).toBe(256 - 104 - 32 - 16);
    expect(readServeOptions({ 'memory-limit': '256Mi' }).memory.heapMb).toBe(120);
  });

  it('scales them with the limit, and a flag given by hand keeps its value', () => {
    const at256 = readServeOptions({ 'memory-limit': '256Mi' }) as unknown as Record<string, number>;
    const at1g = readServeOptions({
      'memory-limit': '1Gi',
      'handler-cache-bytes': '1Mi',
    }) as unknown as Record<string, number>;
    for (const key of SIZES.filter((k) => k !== 'handlerCacheBytes')) expect(at1g[key]).toBe(4 * at256[key]!);
    expect(at1g.handlerCacheBytes).toBe(MiB);
  });

  it('refuses a limit below the minimum, naming the flag; 0 turns the budget off', () => {
    expect(() => readServeOptions({ 'memory-limit': '100Mi' })).toThrow(FlagProblems);
    expect(() => readServeOptions({ 'memory-limit': '100Mi' })).toThrow(
      /--memory-limit: expected a size of at least 167772160 bytes/,
    );
    const off = readServeOptions({ 'memory-limit': '0' });
    expect(off.memory.source).toBe('none');
    expect(off.sinkBufferBytes).toBe(16 * MiB);
  });
});

describe('the adapter in a container of 256 MiB', () => {
  itWith(
    ['memory-cgroup'],
    "reads the cgroup's limit, sizes its heap from it (starting itself again) and reports both on the start line",
    async () => {
      const adapter = await startAsDeployment(['0', '--host', '127.0.0.1', '--log-level', 'warn']);
      try {
        expect(adapter.inCgroup).toBe(true);
        const line = adapter
          .stderr()
          .split('\n')
          .find((l) => l.includes('"msg":"listening on'))!;
        const start = JSON.parse(line) as {
          pid: number;
          config: { memory: unknown; sinkBufferBytes: number };
          heap: { sizing: string; heapLimitBytes: number; budgetMb: number };
        };
        expect(start.config.memory).toEqual({ bytes: DEPLOYMENT_LIMIT, source: 'cgroup', heapMb: 120 });
        expect(start.heap.sizing).toBe('budget');
        // The old generation asked for, plus the young generation: 3 x --max-semi-space-size=8.
        expect(start.heap.heapLimitBytes).toBe((120 + 3 * 8) * MiB);
        // Started again in the same process: the pid Kubernetes signals is the adapter's.
        expect(start.pid).toBe(adapter.child.pid);
      } finally {
        await stopCli(adapter);
      }
    },
    60_000,
  );
});

/** The start line's heap report of the built adapter started as `node <nodeFlags> bin.js <args>`. */
async function heapOnStart(node: string, nodeFlags: string[], args: string[], warns = false) {
  const proc = await startCli([...nodeFlags, BIN, '0', '--host', '127.0.0.1', '--log-level', 'warn', ...args], {
    command: node,
  });
  try {
    // The warning, when there is one, follows the start line.
    if (warns) await waitFor(() => proc.stderr().includes('"level":"warn"'), 10_000);
    const lines = proc.stderr().split('\n');
    const start = JSON.parse(lines.find((l) => l.includes('"msg":"listening on'))!) as {
      heap: { sizing: string; heapLimitBytes: number; budgetMb: number };
    };
    return { heap: start.heap, warning: lines.find((l) => l.includes('"level":"warn"')) };
  } finally {
    await stopCli(proc);
  }
}

describe('how the heap is sized', () => {
  it('--max-old-space-size given to node wins over the budget', async () => {
    const node = await nodeRelease(imageNodeMajor());
    const { heap } = await heapOnStart(node, ['--max-old-space-size=300'], ['--memory-limit', '256Mi']);
    expect(heap).toMatchObject({ sizing: 'operator', budgetMb: 120 });
    expect(heap.heapLimitBytes).toBeGreaterThan(300 * MiB);
  }, 60_000);

  it('a Node.js that cannot start itself again runs on and says which flag to add', async () => {
    const canExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';
    const { heap, warning } = await heapOnStart(process.execPath, [], ['--memory-limit', '256Mi'], !canExecve);
    expect(heap.sizing).toBe(canExecve ? 'budget' : 'unsized');
    if (!canExecve) expect(warning).toContain('start node with --max-old-space-size=120');
  }, 60_000);

  it("without a limit the heap is V8's own", async () => {
    const { heap } = await heapOnStart(process.execPath, [], ['--memory-limit', '0']);
    expect(heap).toMatchObject({ sizing: 'v8' });
  }, 60_000);
});

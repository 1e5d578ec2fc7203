// V8 flags that depend on the container, applied as the process starts.
// V8 sizes its heap from the container's memory limit as if the heap were
// all there is (259 MB of old generation in a 256 MiB container), so a heap
// that fills up meets the OOM killer before V8's own limit; and its parallel
// garbage collector's helper threads, on a pod of one CPU, compete with the
// thread that serves calls and stretch a 12 ms pause into a 35-45 ms stall.
// Node reads these flags only at start: the adapter starts itself again, in
// the same process (execve keeps the pid, the descriptors and the signals'
// target), with --max-old-space-size from the memory budget and, on one CPU,
// --single-threaded-gc.
import v8 from 'node:v8';
import type { MemoryBudget } from '../options/memory-budget.js';

/** Node.js 22.15+ and 23.11+; the types of the oldest supported Node.js (20) do not have it. */
type Execve = (file: string, args: string[], env?: NodeJS.ProcessEnv) => never;
const execve = (process as unknown as { execve?: Execve }).execve?.bind(process);

const HEAP_FLAG = /(^|\s)--max-old-space-size(-percentage)?[=\s]/;
const GC_FLAG = /(^|\s)--(no-)?single-threaded-gc(\s|$)/;

/** What became of the heap's size, for the start line. */
export type HeapSizing =
  /** No memory limit: V8's own sizing. */
  | 'v8'
  /** --max-old-space-size from the budget (after the restart). */
  | 'budget'
  /** --max-old-space-size given by whoever started node: theirs wins. */
  | 'operator'
  /** This Node.js cannot restart itself (process.execve came in Node.js 22.15 and 23.11). */
  | 'unsized';

export interface HeapState {
  sizing: HeapSizing;
  /** V8's heap limit now (old and young generations). */
  heapLimitBytes: number;
  /** The old generation the budget asks for (MiB), when there is a limit. */
  budgetMb: number | undefined;
}

export interface GcState {
  /** How V8 collects garbage now. */
  collector: 'single-threaded' | 'parallel';
  /** The container's CPU quota, when it has one. */
  cpuQuota: number | undefined;
}

export interface NodeFlagsState {
  heap: HeapState;
  gc: GcState;
  /** Flags the adapter wanted but could not apply (no execve): for a warning naming them. */
  missing: string[];
}

/** Whether whoever started node gave `flag` (on the command line or in NODE_OPTIONS). */
function given(flag: RegExp): boolean {
  return process.execArgv.some((arg) => flag.test(` ${arg}`)) || flag.test(` ${process.env.NODE_OPTIONS ?? ''}`);
}

/**
 * Restarts the process with the flags the container asks for when node was
 * started without them (does not return then); otherwise says how the heap
 * and the collector are set. `singleThreadedGc`: the collector the adapter
 * wants (options/serve-flags.ts decides it from --gc and the CPU quota).
 */
export function fitNodeFlags(
  memory: MemoryBudget,
  singleThreadedGc: boolean,
  cpuQuota: number | undefined,
): NodeFlagsState {
  const wanted: string[] = [];
  if (memory.heapMb !== undefined && !given(HEAP_FLAG)) wanted.push(`--max-old-space-size=${memory.heapMb}`);
  if (singleThreadedGc && !given(GC_FLAG)) wanted.push('--single-threaded-gc');
  if (wanted.length > 0 && execve !== undefined) {
    const node = process.execPath;
    return execve(node, [node, ...process.execArgv, ...wanted, ...process.argv.slice(1)]);
  }
  const sizing: HeapSizing =
    memory.heapMb === undefined
      ? 'v8'
      : wanted.some((f) => HEAP_FLAG.test(` ${f}`))
        ? 'unsized'
        : process.execArgv.includes(`--max-old-space-size=${memory.heapMb}`)
          ? 'budget'
          : 'operator';
  const singleThreaded = given(/(^|\s)--single-threaded-gc(\s|$)/);
  return {
    heap: { sizing, heapLimitBytes: v8.getHeapStatistics().heap_size_limit, budgetMb: memory.heapMb },
    gc: { collector: singleThreaded ? 'single-threaded' : 'parallel', cpuQuota },
    missing: wanted,
  };
}

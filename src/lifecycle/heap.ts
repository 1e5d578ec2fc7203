// The V8 heap sized from the memory budget. V8 sizes its heap from the
// container's limit as if the heap were all there is (259 MB of old
// generation in a 256 MiB container), so a heap that fills up meets the OOM
// killer before V8's own limit. Node reads its heap flags only at start: the
// adapter starts itself again, in the same process (execve keeps the pid,
// the descriptors and the signals' target), with --max-old-space-size added.
import v8 from 'node:v8';
import type { MemoryBudget } from '../options/memory-budget.js';

const HEAP_FLAG = /(^|\s)--max-old-space-size(-percentage)?[=\s]/;

/** Node.js 22.15+ and 23.11+; the types of the oldest supported Node.js (20) do not have it. */
type Execve = (file: string, args: string[], env?: NodeJS.ProcessEnv) => never;
const execve = (process as unknown as { execve?: Execve }).execve?.bind(process);

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

function heapFlagGiven(): boolean {
  return (
    process.execArgv.some((arg) => HEAP_FLAG.test(` ${arg}`)) || HEAP_FLAG.test(` ${process.env.NODE_OPTIONS ?? ''}`)
  );
}

/**
 * Restarts the process with the budget's heap size when node was started
 * without one (does not return then); otherwise says how the heap is sized.
 */
export function fitHeap(memory: MemoryBudget): HeapState {
  const state = (sizing: HeapSizing): HeapState => ({
    sizing,
    heapLimitBytes: v8.getHeapStatistics().heap_size_limit,
    budgetMb: memory.heapMb,
  });
  if (memory.heapMb === undefined) return state('v8');
  if (heapFlagGiven()) {
    const flagged = process.execArgv.includes(`--max-old-space-size=${memory.heapMb}`);
    return state(flagged ? 'budget' : 'operator');
  }
  if (execve === undefined) return state('unsized');
  const node = process.execPath;
  return execve(node, [node, ...process.execArgv, `--max-old-space-size=${memory.heapMb}`, ...process.argv.slice(1)]);
}

// One memory budget: the container's memory limit (its cgroup's, as Node
// reads it) or --memory-limit, split into parts. Every cache and buffer that
// a client can fill takes its default bound as a share of it; the buffers
// that live outside the V8 heap (records queued for sinks, requests still
// arriving) and a fixed native reserve come off the top, and the V8 old
// generation gets the rest (lifecycle/heap.ts), so that together they stay
// under the limit and an attack meets a refusal instead of the OOM killer.
// Without a limit the shares are taken of REFERENCE_LIMIT_BYTES, the
// Deployment's limit, and the heap is left as V8 sized it.
import os from 'node:os';

export const MiB = 1024 * 1024;

/** The Deployment's memory limit (deploy/base/deployment.yaml); the shares' defaults are measured at it. */
export const REFERENCE_LIMIT_BYTES = 256 * MiB;

/** Below this the adapter does not fit: Node.js 24 alone is ~100 MiB RSS with the adapter idle. */
export const MIN_MEMORY_LIMIT_BYTES = 160 * MiB;

/**
 * What the process takes besides the V8 old generation and the bounded
 * buffers: the node binary's pages (~50 MiB), malloc'd memory (HTTP/2
 * sessions, TLS, zones of the compiler: ~25 MiB under a stream flood), the
 * young generation (3 x --max-semi-space-size = 24 MiB) and a decode worker.
 * Measured on Node.js 24 in a 256 MiB cgroup: 104-107 MiB RSS idle, of which
 * 37 MiB of V8 heap.
 */
export const NATIVE_RESERVE_BYTES = 104 * MiB;

/**
 * What the Envoy front-ends add outside the old generation the budget gives
 * (--operator-config): the operator config's code and protos, and the
 * access-log streams' HTTP/2 windows. Idle RSS with them is ~114 MiB on
 * Node.js 24, 10 MiB over the native reserve; a sixteenth (16 MiB at 256 Mi)
 * keeps their floods inside the limit with room to spare.
 */
export const ENVOY_FRONT_END_SHARE = 1 / 16;

/** The smallest old generation the adapter is given (MiB): its own live data is ~20 MiB idle. */
const MIN_HEAP_MB = 32;

/** Where the limit came from, for the start line. */
export type LimitSource = 'flag' | 'cgroup' | 'none';

export interface MemoryBudget {
  /** The limit the shares are taken of (REFERENCE_LIMIT_BYTES when there is none). */
  readonly bytes: number;
  readonly source: LimitSource;
  /** The old-generation size the heap should have (MiB), or undefined when there is no limit to fit. */
  readonly heapMb: number | undefined;
}

/**
 * The memory limit of the container (cgroup v1 memory.limit_in_bytes or v2
 * memory.max, which libuv reads), or undefined when there is none: cgroups
 * say "no limit" with a huge number, and a limit above the machine's memory
 * limits nothing.
 */
export function containerMemoryLimit(): number | undefined {
  const limit = process.constrainedMemory();
  if (!Number.isSafeInteger(limit) || limit <= 0 || limit >= os.totalmem()) return undefined;
  return limit;
}

/**
 * The budget for `--memory-limit` as read (undefined: the container's; 0:
 * none), where `outsideHeapShare` of it goes to buffers outside the V8 heap.
 * A cgroup limit below the minimum is still the limit: the shares' own
 * minimums keep each bound usable.
 */
export function memoryBudget(
  flagBytes: number | undefined,
  outsideHeapShare: number,
  container = containerMemoryLimit(),
): MemoryBudget {
  const [limit, source]: [number | undefined, LimitSource] =
    flagBytes === undefined
      ? [container, container === undefined ? 'none' : 'cgroup']
      : flagBytes === 0
        ? [undefined, 'none']
        : [flagBytes, 'flag'];
  if (limit === undefined) return { bytes: REFERENCE_LIMIT_BYTES, source, heapMb: undefined };
  const heapBytes = limit - NATIVE_RESERVE_BYTES - shareOf({ bytes: limit }, outsideHeapShare);
  return { bytes: limit, source, heapMb: Math.max(MIN_HEAP_MB, Math.floor(heapBytes / MiB)) };
}

/** `share` of the budget in whole bytes, at least `min`. */
export function shareOf(budget: Pick<MemoryBudget, 'bytes'>, share: number, min = 0): number {
  return Math.max(min, Math.floor(budget.bytes * share));
}

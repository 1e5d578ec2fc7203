// Memory cgroups of their own for the tests that hold the adapter to a
// container's memory limit: made under this process's own memory cgroup
// (v1 memory controller, or v2), as root.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Cgroup {
  dir: string;
  /** The file a process joins the cgroup by writing its pid into. */
  procs: string;
}

let made = 0;

/** A fresh memory cgroup limited to `bytes`, without swap where that can be set; undefined when none can be made here. */
export function makeMemoryCgroup(bytes: number): Cgroup | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = own.map((l) => /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  const v2 = own.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  const name = `mygrpcadapter-test-${process.pid}-${++made}`;
  const tries: [string, string, string][] = [];
  if (v1 !== undefined && existsSync('/sys/fs/cgroup/memory')) {
    tries.push([path.join('/sys/fs/cgroup/memory', v1, name), 'memory.limit_in_bytes', 'memory.swappiness']);
  }
  if (v2 !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    tries.push([path.join('/sys/fs/cgroup', v2, name), 'memory.max', 'memory.swap.max']);
  }
  for (const [dir, limitFile, swapFile] of tries) {
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    try {
      writeFileSync(path.join(dir, limitFile), String(bytes));
      try {
        writeFileSync(path.join(dir, swapFile), '0');
      } catch {
        // no swap configured: nothing to turn off
      }
      return { dir, procs: path.join(dir, 'cgroup.procs') };
    } catch {
      removeCgroup(dir);
    }
  }
  return undefined;
}

/** Removes an empty cgroup; false while a process is still in it (the kernel notes an exit a moment after it). */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** Whether this process can make memory cgroups (tried once). */
export const memoryCgroupsHere: boolean = (() => {
  const probe = makeMemoryCgroup(256 * 1024 * 1024);
  return probe !== undefined && removeCgroup(probe.dir);
})();

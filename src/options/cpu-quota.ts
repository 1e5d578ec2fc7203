// How many CPUs the container may use: its cgroup's CPU quota (a pod's
// limits.cpu). Node.js does not say: os.availableParallelism() counts the
// CPUs the process may run on, not how much of them it may use, so a pod
// limited to 1 CPU on a 16-core node sees 16.
import { readFileSync } from 'node:fs';
import path from 'node:path';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `quota period` (v2 cpu.max) or the two v1 files -> CPUs, undefined for "max" / -1 or nothing readable. */
function cpusOf(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || quota === 'max' || quota === '-1') return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

/**
 * The CPU quota of this process's cgroup in CPUs (1.5 for a pod with
 * limits.cpu 1500m), or undefined when there is none. `root` is where the
 * cgroup file systems are mounted and `self` this process's /proc cgroup file
 * (tests point them elsewhere).
 */
export function containerCpuQuota(root = '/sys/fs/cgroup', self = '/proc/self/cgroup'): number | undefined {
  const lines = (read(self) ?? '').split('\n');
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (v2 !== undefined) {
    const max = read(path.join(root, v2, 'cpu.max'));
    if (max !== undefined) {
      const [quota, period] = max.split(' ');
      return cpusOf(quota, period);
    }
  }
  const v1 = lines.map((l) => /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (v1 === undefined) return undefined;
  for (const mount of ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']) {
    const dir = path.join(root, mount, v1);
    const quota = read(path.join(dir, 'cpu.cfs_quota_us'));
    if (quota !== undefined) return cpusOf(quota, read(path.join(dir, 'cpu.cfs_period_us')));
  }
  return undefined;
}

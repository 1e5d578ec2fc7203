// V8's collector follows the container's CPU quota: on one CPU its parallel
// helper threads stall the thread that serves calls (a 12 ms pause became a
// 35-45 ms stall at 4,000 checks/s), so a pod of at most one CPU gets
// --single-threaded-gc; --gc names either collector by hand.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerCpuQuota } from '../src/options/cpu-quota.js';
import { startNodeFlags } from './bench/start-command.js';
import { makeCpuCgroup, removeCgroup } from './helpers/cgroup.js';
import { BIN, ROOT, startCli, stopCli } from './helpers/cli.js';
import { imageNodeMajor, nodeRelease } from './helpers/deployment.js';
import { itWith } from './helpers/peers.js';
import { waitFor } from './helpers/wait.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gc-choice-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A cgroup file system laid out under `dir`: files relative to its root, and the /proc/self/cgroup text. */
async function layout(name: string, files: Record<string, string>, self: string) {
  const root = path.join(dir, name);
  await mkdir(root, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  await writeFile(path.join(root, 'self'), self);
  return containerCpuQuota(root, path.join(root, 'self'));
}

describe('containerCpuQuota', () => {
  it('cgroup v2: cpu.max as quota and period, "max" for none', async () => {
    expect(await layout('v2-half', { 'kubepods/pod1/cpu.max': '50000 100000\n' }, '0::/kubepods/pod1\n')).toBe(0.5);
    expect(await layout('v2-none', { 'kubepods/pod2/cpu.max': 'max 100000\n' }, '0::/kubepods/pod2\n')).toBe(undefined);
  });

  it('cgroup v1: cfs quota and period under cpu or cpu,cpuacct, -1 for none', async () => {
    const self = '4:memory:/kubepods/pod3\n2:cpu,cpuacct:/kubepods/pod3\n0::/\n';
    const v1 = {
      'cpu,cpuacct/kubepods/pod3/cpu.cfs_quota_us': '150000\n',
      'cpu,cpuacct/kubepods/pod3/cpu.cfs_period_us': '100000\n',
    };
    expect(await layout('v1-1.5', v1, self)).toBe(1.5);
    const none = { 'cpu/x/cpu.cfs_quota_us': '-1\n', 'cpu/x/cpu.cfs_period_us': '100000\n' };
    expect(await layout('v1-none', none, '1:cpu:/x\n')).toBe(undefined);
  });

  it('nothing readable: no quota', async () => {
    expect(await layout('empty', {}, '')).toBe(undefined);
  });
});

/** The start line's gc report of the adapter started as `node <flags> bin.js <args>`, in `cgroupProcs` when given. */
async function gcOnStart(node: string, args: string[], cgroupProcs?: string) {
  const setup = cgroupProcs ? `echo $$ > '${cgroupProcs}' && exec "$@"` : 'exec "$@"';
  const proc = await startCli(
    [
      '-c',
      setup,
      'bash',
      node,
      ...startNodeFlags(ROOT),
      BIN,
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      ...args,
    ],
    { command: 'bash' },
  );
  try {
    await waitFor(() => proc.stderr().includes('"msg":"listening on'), 10_000);
    const line = proc
      .stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"listening on'))!;
    return (JSON.parse(line) as { gc: { collector: string; cpuQuota?: number } }).gc;
  } finally {
    await stopCli(proc);
  }
}

describe('the collector the adapter runs with', () => {
  itWith(
    ['cgroups'],
    'in a container of one CPU: single-threaded, after starting itself again',
    async () => {
      const cgroup = makeCpuCgroup(1)!;
      try {
        const node = await nodeRelease(imageNodeMajor());
        expect(await gcOnStart(node, [], cgroup.procs)).toEqual({ collector: 'single-threaded', cpuQuota: 1 });
        // Asked by hand, the parallel one stays.
        expect(await gcOnStart(node, ['--gc', 'parallel'], cgroup.procs)).toEqual({
          collector: 'parallel',
          cpuQuota: 1,
        });
      } finally {
        await waitFor(() => removeCgroup(cgroup.dir), 5_000);
      }
    },
    60_000,
  );

  it('without a quota: parallel unless --gc single-threaded', async () => {
    const node = await nodeRelease(imageNodeMajor());
    expect(containerCpuQuota()).toBe(undefined);
    expect(await gcOnStart(node, [])).toEqual({ collector: 'parallel' });
    expect(await gcOnStart(node, ['--gc', 'single-threaded'])).toEqual({ collector: 'single-threaded' });
  }, 60_000);
});

// The built adapter as the Deployment runs it, for the tests that hold it to
// the Deployment's memory limit: the image's Node.js major, the start
// script's node flags, and a 256 MiB memory limit. As root with a writable
// memory cgroup (v1 or v2), the limit is a real cgroup of its own: the
// adapter reads it as it would in a pod, and going past it is the kernel's
// OOM kill, which the test sees as a dead adapter. Elsewhere it is
// --memory-limit 256Mi, and the tests' RSS checks are the only judge.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startNodeFlags } from '../bench/start-command.js';
import { BIN, ROOT, startCli, type CliProcess } from './cli.js';
import { makeMemoryCgroup, removeCgroup } from './cgroup.js';
import { MiB } from './child-memory.js';
import { waitFor } from './wait.js';

export const DEPLOYMENT_LIMIT = 256 * MiB;

const exec = promisify(execFile);

/** The latest release of a Node.js major: $DOCKERFILE_NODE (test/setup/peers.ts fetches it), else what the script prints. */
export async function nodeRelease(major: number): Promise<string> {
  if (process.env.DOCKERFILE_NODE) return process.env.DOCKERFILE_NODE;
  const script = path.join(ROOT, 'scripts', 'node-release.sh');
  const { stdout } = await exec('bash', [script, String(major)], { timeout: 170_000 });
  return stdout.trim();
}

/** The Node.js major of the Dockerfile's runtime stage (its last FROM). */
export function imageNodeMajor(): number {
  const froms = [...readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM node:(\d+)[-.]/gm)];
  if (froms.length === 0) throw new Error('Dockerfile: no FROM node:<major>');
  return Number(froms.at(-1)![1]);
}

let said = false;

/**
 * Starts the adapter with `args` as the Deployment would, plus `nofile` as
 * its descriptor limit (soft and hard) when given. Its start line must show
 * the heap sized from the 256 MiB budget.
 */
export async function startAsDeployment(
  args: string[],
  options: { nofile?: number } = {},
): Promise<CliProcess & { inCgroup: boolean }> {
  const node = await nodeRelease(imageNodeMajor());
  const cgroup = makeMemoryCgroup(DEPLOYMENT_LIMIT);
  if (!said) {
    said = true;
    const how = cgroup
      ? `a memory cgroup of ${DEPLOYMENT_LIMIT / MiB} MiB`
      : `--memory-limit ${DEPLOYMENT_LIMIT / MiB}Mi (no writable memory cgroup here)`;
    console.log(`deployment: the adapter runs on ${node} with ${how}`);
  }
  // bash joins the cgroup and sets the descriptor limit, then becomes node: the child's pid is the adapter's.
  const setup = [
    cgroup ? `echo $$ > '${cgroup.procs}'` : ':',
    options.nofile === undefined ? ':' : `ulimit -n ${options.nofile}`,
    'exec "$@"',
  ].join(' && ');
  const limit = cgroup ? [] : ['--memory-limit', `${DEPLOYMENT_LIMIT / MiB}Mi`];
  const started = await startCli(['-c', setup, 'bash', node, ...startNodeFlags(ROOT), BIN, ...args, ...limit], {
    command: 'bash',
  }).catch((err: unknown) => {
    if (cgroup) removeCgroup(cgroup.dir);
    throw err;
  });
  const exited = started.exited.then(async (code) => {
    if (cgroup) await removeWhenEmpty(cgroup.dir);
    return code;
  });
  const startLine = started
    .stderr()
    .split('\n')
    .find((l) => l.includes('"msg":"listening on'));
  const heap = startLine ? (JSON.parse(startLine) as { heap?: { sizing?: string } }).heap : undefined;
  if (heap?.sizing !== 'budget') throw new Error(`the heap was not sized from the budget: ${startLine}`);
  return { ...started, exited, inCgroup: cgroup !== undefined };
}

async function removeWhenEmpty(dir: string): Promise<void> {
  await waitFor(() => removeCgroup(dir), 5_000).catch(() => undefined);
}

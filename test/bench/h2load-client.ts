// h2load as the bench's client: a C program that is not the bottleneck where
// the bench's Node client is (against the Go adapter that client adds 10-20
// ms of p99 and collapses at 6,000 calls/s). It sends the same gRPC frame on
// every call; it sees HTTP statuses, not gRPC ones, so a real gRPC client
// checks the answer once before the load (preflight).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import hdr from 'hdr-histogram-js';
import type { Scenario } from './scenarios.js';
import {
  identity,
  newHistogram,
  OPEN_LOOP_GRACE_MS,
  wrongCheckResult,
  type Schedule,
  type WorkerResult,
} from './worker.js';

/** One call through a real gRPC client, answered as `scenario` expects (undefined `expectCheckCode`: any answer). */
export async function preflight(
  name: string,
  address: string,
  scenario: Pick<Scenario, 'name' | 'path'>,
  request: Buffer,
  expectCheckCode: number | undefined,
): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(scenario.path, identity, identity, request, (err, r) =>
        err || !r ? reject(err ?? new Error('empty reply')) : resolve(r),
      ),
    );
    if (expectCheckCode === undefined) return;
    const wrong = wrongCheckResult(reply, expectCheckCode, scenario.path);
    if (wrong !== undefined) throw new Error(wrong);
  } catch (err) {
    throw new Error(`${name} does not answer ${scenario.name} as expected: ${(err as Error).message}`);
  } finally {
    client.close();
  }
}

/** h2load's arguments common to both loops: the frame as the body of every request, gRPC's headers. */
export function h2loadRequestArgs(address: string, path: string, frameFile: string): string[] {
  return ['-d', frameFile, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://${address}${path}`];
}

/**
 * Runs `taskset -c cpus h2load args`; resolves with its output, rejects on a
 * non-zero exit, or after `timeoutMs` (it is killed then).
 */
export function runH2load(cpus: string, args: string[], timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpus, 'h2load', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    // 'close', not 'exit': the summary may still be in the pipe when the process has exited.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `h2load ${signal === 'SIGKILL' ? `still running after ${timeoutMs} ms` : `failed (${code})`}: ${out}`,
          ),
        );
    });
  });
}

export interface OpenLoopJob {
  address: string;
  path: string;
  frameFile: string;
  callsPerSec: number;
  /** CPUs h2load may use (taskset -c). */
  cpus: string;
  /** Where h2load writes one line per request. */
  logFile: string;
}

/**
 * Open loop at a fixed rate: one connection sending `callsPerSec` calls a
 * second from schedule.startAt to stopAt, whatever the answers (up to 10,000
 * in flight), then waiting for the last answers. Calls started inside
 * [measureAt, stopAt) are measured; one that came back other than 200 is an
 * error. A run still unanswered OPEN_LOOP_GRACE_MS after the stop fails the
 * point. The rate h2load really sent shows in calls/s.
 */
export async function openLoop(job: OpenLoopJob, schedule: Schedule): Promise<WorkerResult> {
  // A count, not a duration: h2load stops sending at the stop and waits for every answer.
  const total = Math.round((job.callsPerSec * (schedule.stopAt - schedule.startAt)) / 1000);
  const args = ['-c', '1', '-t', '1', '-m', '10000', '--rps', String(job.callsPerSec), '-n', String(total)];
  args.push(`--log-file=${job.logFile}`, ...h2loadRequestArgs(job.address, job.path, job.frameFile));
  const startedAt = Date.now();
  await runH2load(job.cpus, args, schedule.stopAt - startedAt + OPEN_LOOP_GRACE_MS);
  // Columns: start (µs since the epoch), HTTP status, µs until the end of the response.
  const rows = (await readFile(job.logFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map(Number) as [number, number, number]);
  // h2load starts its clock when it starts; the schedule is shifted to it.
  const first = rows.reduce((min, [start]) => Math.min(min, start), Infinity) / 1000;
  const shift = Number.isFinite(first) ? first - Math.max(startedAt, schedule.startAt) : 0;
  const from = (schedule.measureAt + shift) * 1000;
  const to = (schedule.stopAt + shift) * 1000;
  const histogram = newHistogram();
  let calls = 0;
  let errors = 0;
  for (const [start, statusCode, us] of rows) {
    if (start < from || start >= to) continue;
    if (statusCode === 200) {
      calls++;
      histogram.recordValue(Math.max(1, us));
    } else {
      errors++;
    }
  }
  return {
    calls,
    // What the schedule put in the window: a client or server that falls behind answers fewer.
    offered: Math.round((job.callsPerSec * (schedule.stopAt - schedule.measureAt)) / 1000),
    measuredUntil: schedule.stopAt,
    errors,
    wrongAnswers: 0,
    firstError: errors > 0 ? `${errors} answers other than HTTP 200` : undefined,
    histogram: hdr.encodeIntoCompressedBase64(histogram),
  };
}

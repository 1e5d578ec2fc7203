// One load worker: a single grpc-js channel (one HTTP/2 connection, as Mixer
// uses) sending the same pre-encoded bytes on every call, either closed loop
// (`concurrency` calls kept in flight) or open loop (calls started at a fixed
// rate whatever the answers do, as Mixer forwards Envoy's flushes). Latencies
// go into an HDR histogram (microseconds).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import hdr from 'hdr-histogram-js';
import type protobuf from 'protobufjs';
import { envoyProtos } from '../../src/wire/envoy.js';
import { protoRoot } from '../../src/wire/load.js';

/** Closed loop: this many calls in flight. Open loop: calls started per second. */
export type Load = { kind: 'closed'; concurrency: number } | { kind: 'open'; callsPerSec: number };

export interface WorkerJob {
  address: string;
  path: string;
  request: Uint8Array;
  load: Load;
  /** CheckResult.status.code every answer must carry; undefined: no check. */
  expectCheckCode: number | undefined;
}

/** Epoch milliseconds (performance.timeOrigin-based) of the phase boundaries. */
export interface Schedule {
  startAt: number;
  measureAt: number;
  stopAt: number;
}

/**
 * Worker -> main: `ready` once connected, then `done` or `failed`.
 * Main -> worker: one Schedule once every worker is ready.
 */
export type WorkerMessage =
  { type: 'ready' } | { type: 'done'; result: WorkerResult } | { type: 'failed'; error: string };

export interface WorkerResult {
  /**
   * Calls completed inside the measurement window (closed loop), or calls
   * scheduled inside it that completed (open loop).
   */
  calls: number;
  /** Open loop: calls scheduled inside the measurement window. */
  offered: number;
  /**
   * Epoch ms the window really ended: the schedule's stop, or later when no
   * call had completed by then and the worker waited for the first one.
   */
  measuredUntil: number;
  /** Failed calls during warm-up and measurement (gRPC errors). */
  errors: number;
  /** Calls that succeeded with another answer than expected. */
  wrongAnswers: number;
  firstError: string | undefined;
  /** The latency histogram, hdr-histogram-js compressed base64. */
  histogram: string;
}

/** Open loop: how long calls still in flight at the stop get to finish; later ones count as errors. */
export const OPEN_LOOP_GRACE_MS = 10_000;

/** Highest latency tracked: 60 s in microseconds. */
export const HIGHEST_TRACKABLE_US = 60_000_000;

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
  });
}

/** Epoch milliseconds with sub-millisecond precision, comparable across threads. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Request and answer (de)serialiser of the bench's clients: the bytes as they are. */
export const identity = (b: Buffer): Buffer => b;

let checkResultType: protobuf.Type | undefined;

/**
 * What is wrong with a check's answer whose status code should be
 * `expected`; undefined when nothing. Mixer's CheckResult and Envoy's
 * CheckResponse (calls to `/envoy.*`) both carry it as field 1.
 */
export function wrongCheckResult(reply: Buffer, expected: number, path = ''): string | undefined {
  const type = path.startsWith('/envoy.')
    ? envoyProtos().checkResponse
    : (checkResultType ??= protoRoot().lookupType('istio.mixer.adapter.model.v1beta1.CheckResult'));
  const decoded = type.toObject(type.decode(reply), { defaults: true }) as {
    status?: { code?: number; message?: string };
  };
  const code = decoded.status?.code ?? 0;
  return code === expected
    ? undefined
    : `CheckResult code ${code} (${decoded.status?.message ?? ''}), expected ${expected}`;
}

async function run(job: WorkerJob, port: MessagePort): Promise<WorkerResult> {
  const client = new grpc.Client(job.address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
  );
  const request = Buffer.from(job.request.buffer, job.request.byteOffset, job.request.byteLength);
  const histogram = newHistogram();
  const result: WorkerResult = {
    calls: 0,
    offered: 0,
    measuredUntil: 0,
    errors: 0,
    wrongAnswers: 0,
    firstError: undefined,
    histogram: '',
  };

  const wrongAnswer = (reply: Buffer): string | undefined =>
    job.expectCheckCode === undefined ? undefined : wrongCheckResult(reply, job.expectCheckCode, job.path);

  const failed = (err: grpc.ServiceError | null, reply: Buffer | undefined): boolean => {
    if (err || !reply) {
      result.errors++;
      result.firstError ??= err ? `${err.code} ${err.details}` : 'empty reply';
      return true;
    }
    const wrong = wrongAnswer(reply);
    if (wrong !== undefined) {
      result.wrongAnswers++;
      result.firstError ??= wrong;
    }
    return false;
  };

  const lane = (): Promise<void> =>
    new Promise((resolve) => {
      const next = (): void => {
        const started = epochMs();
        // Past the stop, go on only while no call has been counted yet (slow
        // points, short windows), and never past ten windows.
        if (started >= schedule.stopAt && (result.calls > 0 || started >= hardStop)) {
          resolve();
          return;
        }
        client.makeUnaryRequest(job.path, identity, identity, request, (err, reply) => {
          const ended = epochMs();
          if (!failed(err, reply)) {
            // Closed loop: a call counts when it completes inside the window.
            const inWindow = ended <= schedule.stopAt || (result.calls === 0 && ended <= hardStop);
            if (ended >= schedule.measureAt && inWindow) {
              result.calls++;
              result.measuredUntil = Math.max(schedule.stopAt, ended);
              histogram.recordValue(Math.max(1, Math.round((ended - started) * 1000)));
            }
          }
          next();
        });
      };
      next();
    });

  // Open loop: call k is due at startAt + k / rate and its latency counts from
  // then, so a server that falls behind shows its queueing delay (no
  // coordinated omission). Calls due in the measurement window are counted.
  const openLoop = (callsPerSec: number): Promise<void> =>
    new Promise((resolve) => {
      const interval = 1000 / callsPerSec;
      let due = 0;
      let inFlight = 0;
      let sending = true;
      const deadline = schedule.stopAt + OPEN_LOOP_GRACE_MS;
      const settle = (): void => {
        if (!sending && inFlight === 0) resolve();
      };
      const send = (scheduled: number): void => {
        const measured = scheduled >= schedule.measureAt && scheduled < schedule.stopAt;
        if (measured) result.offered++;
        inFlight++;
        client.makeUnaryRequest(job.path, identity, identity, request, { deadline }, (err, reply) => {
          inFlight--;
          const ended = epochMs();
          if (!failed(err, reply) && measured) {
            result.calls++;
            histogram.recordValue(Math.max(1, Math.round((ended - scheduled) * 1000)));
          }
          settle();
        });
      };
      const tick = (): void => {
        const now = epochMs();
        for (let at = schedule.startAt + due * interval; at <= now && at < schedule.stopAt;) {
          send(at);
          due++;
          at = schedule.startAt + due * interval;
        }
        const next = schedule.startAt + due * interval;
        if (next >= schedule.stopAt) {
          sending = false;
          settle();
          return;
        }
        setTimeout(tick, Math.max(0, Math.min(next - epochMs(), 50)));
      };
      tick();
    });

  const schedule = await new Promise<Schedule>((resolve) => {
    port.once('message', resolve);
    port.postMessage({ type: 'ready' } satisfies WorkerMessage);
  });
  const hardStop = schedule.stopAt + 9 * (schedule.stopAt - schedule.measureAt);
  result.measuredUntil = schedule.stopAt;
  const wait = schedule.startAt - epochMs();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (job.load.kind === 'closed') await Promise.all(Array.from({ length: job.load.concurrency }, lane));
  else await openLoop(job.load.callsPerSec);
  client.close();
  result.histogram = hdr.encodeIntoCompressedBase64(histogram);
  return result;
}

if (parentPort) {
  const port = parentPort;
  run(workerData as WorkerJob, port).then(
    (result) => port.postMessage({ type: 'done', result } satisfies WorkerMessage),
    (err: unknown) => port.postMessage({ type: 'failed', error: String(err) } satisfies WorkerMessage),
  );
}

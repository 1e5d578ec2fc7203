// Time bounds run on the monotonic clock (issue 20, point 9): a wall-clock
// step (NTP, a VM resumed, an operator's `date -s`) must neither cut streams
// that are within their bounds nor spare streams that are past them, and must
// not change how long a failing sink holds health down. Only Date is faked
// here (vi.useFakeTimers({ toFake: ['Date'] })): timers and performance.now()
// run on, as the kernel's monotonic clock does through a wall-clock step.
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SinkHealth } from '../src/core/sink-health.js';
import type { SinkSpec } from '../src/sinks/sink.js';
import { AdapterHealth } from '../src/transport/health.js';
import { DEFAULT_STREAM_LIMITS, guardStreams, type GuardEvent } from '../src/transport/stream-guard.js';
import { grpcMessage, grpcPrefix, rawGrpcStream } from './helpers/wire.js';

const PATH = '/test.Hold/Call';

let server: grpc.Server | undefined;
let client: http2.ClientHttp2Session | undefined;
let sinkHealth: SinkHealth | undefined;

afterEach(() => {
  vi.useRealTimers();
  client?.destroy();
  server?.forceShutdown();
  sinkHealth?.close();
  [client, server, sinkHealth] = [undefined, undefined, undefined];
});

/** Polls on the monotonic clock (the helpers' waitFor reads Date, which is faked here). */
async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** A grpc-js server under the stream guard whose one method holds every call unanswered. */
async function holdingServer(limits: Partial<typeof DEFAULT_STREAM_LIMITS>, cuts: GuardEvent[]) {
  let held = 0;
  server = new grpc.Server();
  const bytes = (b: Buffer) => b;
  server.addService(
    {
      Call: {
        path: PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes,
        requestDeserialize: bytes,
        responseSerialize: bytes,
        responseDeserialize: bytes,
      },
    },
    { Call: () => void held++ },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  guardStreams(server, { ...DEFAULT_STREAM_LIMITS, ...limits }, (event) => cuts.push(event));
  client = http2.connect(`http://127.0.0.1:${port}`);
  return { held: () => held, session: client };
}

function open(session: http2.ClientHttp2Session, whole: boolean): http2.ClientHttp2Stream {
  const stream = rawGrpcStream(session, PATH);
  if (whole) stream.end(grpcMessage(Buffer.from('held')));
  else stream.write(Buffer.concat([grpcPrefix(256), Buffer.from('par')])); // announces 256 bytes, sends 3
  return stream;
}

describe('bounds on the monotonic clock', () => {
  it('a wall clock stepped 300 s forward cuts no stream within its bounds', async () => {
    const cuts: GuardEvent[] = [];
    const { held, session } = await holdingServer({ requestArrivalMs: 1500, maxStreamMs: 30_000 }, cuts);
    // One half-sent request, cut when its 1.5 s are up, marks the time; 30
    // whole requests held unanswered are far within their 30 s.
    const marker = open(session, false);
    const calls = Array.from({ length: 30 }, () => open(session, true));
    expect(await until(() => held() === 30, 10_000)).toBe(true);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 300_000);
    expect(await until(() => marker.closed, 10_000)).toBe(true);
    expect(marker.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(cuts).toEqual(['request-arrival']);
    expect(calls.filter((s) => s.closed)).toHaveLength(0);
  });

  it('a wall clock stepped 3600 s back spares no stream past its bounds', async () => {
    const cuts: GuardEvent[] = [];
    // The two bounds lie two sweeps apart: a sweep a second, run late on a busy
    // machine, must not find the half-sent stream past both and name the wrong one.
    const { session } = await holdingServer({ requestArrivalMs: 1000, maxStreamMs: 3000 }, cuts);
    const halfSent = open(session, false);
    const held = open(session, true);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    // Cut after 1-2 s and 3-4 s of real time (a sweep a second), not an hour later.
    expect(await until(() => halfSent.closed && held.closed, 8000)).toBe(true);
    expect(cuts.sort()).toEqual(['request-arrival', 'stream-age']);
  });
});

describe('sink health on the monotonic clock', () => {
  const spec = (path: string): SinkSpec => ({ type: 'file', path, format: 'text' });

  it('a forward step does not end a sink failure early', () => {
    const health = new AdapterHealth();
    health.serving(true);
    sinkHealth = new SinkHealth(health, false, 60_000);
    sinkHealth.failed(spec('/a'));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 120_000);
    sinkHealth.failed(spec('/b')); // publishes: a failure 0 s old still counts
    expect(sinkHealth.failingSinks).toBe(2);
  });

  it('a backward step does not make a sink failure last longer', async () => {
    const health = new AdapterHealth();
    health.serving(true);
    sinkHealth = new SinkHealth(health, false, 300);
    sinkHealth.failed(spec('/a'));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    expect(await until(() => sinkHealth!.failingSinks === 0, 5000)).toBe(true);
  });
});

// The pending-bytes bound counts requests still arriving, not requests that
// have arrived and wait for their answer (a slow sink): the guard notices an
// arrived request only when the bound is passed, so both sides of that line
// are checked here, over a real HTTP/2 connection to a grpc-js server.
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_STREAM_LIMITS,
  guardStreams,
  type GuardEvent,
  type StreamGuard,
} from '../src/transport/stream-guard.js';
import { waitFor } from './helpers/wait.js';
import { grpcPrefix, rawGrpcStream } from './helpers/wire.js';

const PATH = '/test.Hold/Call';
const LIMIT = 64 * 1024;
const MESSAGE = 16 * 1024;

let server: grpc.Server | undefined;
let client: http2.ClientHttp2Session | undefined;

afterEach(() => {
  client?.destroy();
  server?.forceShutdown();
});

/** A server whose one method holds every call until `release` is called. */
async function holdingServer(cuts: GuardEvent[]): Promise<{ port: number; held: () => number; release: () => void }> {
  const waiting: Array<() => void> = [];
  server = new grpc.Server();
  const service: grpc.ServiceDefinition = {
    Call: {
      path: PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(service, {
    Call: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => waiting.push(() => callback(null, Buffer.alloc(0))),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  guardStreams(server, { ...DEFAULT_STREAM_LIMITS, maxPendingRequestBytes: LIMIT }, (event) => cuts.push(event));
  return { port, held: () => waiting.length, release: () => waiting.splice(0).forEach((answer) => answer()) };
}

function call(session: http2.ClientHttp2Session, body: Buffer, end: boolean): http2.ClientHttp2Stream {
  const stream = rawGrpcStream(session, PATH);
  const prefix = grpcPrefix(MESSAGE);
  if (end) stream.end(Buffer.concat([prefix, body]));
  else stream.write(Buffer.concat([prefix, body.subarray(0, body.length / 2)]));
  return stream;
}

describe('stream guard: pending request bytes', () => {
  it('requests that have arrived do not count, however long their answers take', async () => {
    const cuts: GuardEvent[] = [];
    const { port, held, release } = await holdingServer(cuts);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    client = session;
    // 12 whole requests of 16 KiB held unanswered: 192 KiB, three times the bound.
    // One at a time: HTTP/2 interleaves streams, and requests sent together
    // are all still arriving at once (which the bound rightly counts).
    const streams: http2.ClientHttp2Stream[] = [];
    for (let i = 1; i <= 12; i++) {
      streams.push(call(session, Buffer.alloc(MESSAGE, 1), true));
      await waitFor(() => held() === i);
    }
    expect(cuts).toEqual([]);
    // Half-sent requests on top: these do count, and past the bound the largest is cut.
    const halfSent = Array.from({ length: 12 }, () => call(session, Buffer.alloc(MESSAGE, 2), false));
    await waitFor(() => cuts.length > 0);
    expect(new Set(cuts)).toEqual(new Set(['pending-bytes']));
    // 12 half-sent requests of 8 KiB are 96 KiB: enough are cut to come back under 64 KiB, no more.
    expect(cuts.length).toBeGreaterThanOrEqual(4);
    expect(cuts.length).toBeLessThanOrEqual(6);
    expect(streams.every((s) => !s.closed)).toBe(true); // no held whole request was cut
    release();
    await waitFor(() => streams.every((s) => s.closed));
    for (const s of halfSent) s.close();
  });
});

describe('stream guard: client-streaming calls', () => {
  const STREAM_PATH = '/test.Logs/Stream';

  /** A server whose one client-streaming method reads every message as it comes, and answers at the end. */
  async function streamingServer(): Promise<{ port: number; guard: StreamGuard; messages: () => number }> {
    let messages = 0;
    server = new grpc.Server();
    const service: grpc.ServiceDefinition = {
      Stream: {
        path: STREAM_PATH,
        requestStream: true,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    server.addService(service, {
      Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        call.on('data', () => messages++);
        call.on('end', () => callback(null, Buffer.alloc(0)));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const guard = guardStreams(server, DEFAULT_STREAM_LIMITS, () => undefined, new Set([STREAM_PATH]));
    return { port, guard, messages: () => messages };
  }

  it('counts only the bytes of the message still arriving, whatever the chunks', async () => {
    const { port, guard, messages } = await streamingServer();
    client = http2.connect(`http://127.0.0.1:${port}`);
    const stream = rawGrpcStream(client, STREAM_PATH);
    const a = Buffer.concat([grpcPrefix(100), Buffer.alloc(100, 1)]);
    const b = Buffer.concat([grpcPrefix(0)]);
    const c = Buffer.concat([grpcPrefix(300), Buffer.alloc(300, 3)]);
    const wire = Buffer.concat([a, b, c]);
    // Cut inside a's prefix, inside its body, across a's end, b and c's prefix, inside c.
    const steps: [number, number, number][] = [
      // [bytes sent so far, pending after them, messages whole]
      [3, 3, 0],
      [55, 55, 0],
      [105 + 5 + 2, 2, 2],
      [105 + 5 + 5 + 200, 205, 2],
      [wire.length, 0, 3],
    ];
    let sent = 0;
    for (const [upTo, pending, whole] of steps) {
      stream.write(wire.subarray(sent, upTo));
      sent = upTo;
      await waitFor(() => messages() === whole && guard.pendingRequestBytes === pending);
    }
    stream.end();
    await waitFor(() => stream.closed);
    expect(guard.pendingRequestBytes).toBe(0);
  });
});

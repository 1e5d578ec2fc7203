// grpc-js internals are touched in one file (src/transport/grpc-internals.ts),
// checked here against the exact version package.json pins: a bump that moves
// or removes them fails this test, not a production start.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, expect, it } from 'vitest';
import { GRPC_JS_VERSION, http2ServersOf, oneMessageAtATime } from '../src/transport/grpc-internals.js';
import { ROOT } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

let server: grpc.Server | undefined;
afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

async function readJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

it('package.json pins @grpc/grpc-js exactly, to the version the internals were checked against', async () => {
  const pkg = await readJson(path.join(ROOT, 'package.json'));
  const pinned = (pkg.dependencies as Record<string, string>)['@grpc/grpc-js'];
  expect(pinned).toBe(GRPC_JS_VERSION);
  const installed = await readJson(path.join(ROOT, 'node_modules', '@grpc', 'grpc-js', 'package.json'));
  expect(installed.version).toBe(GRPC_JS_VERSION);
});

it('reaches the HTTP/2 server behind each bound address of this grpc-js', async () => {
  server = new grpc.Server();
  const creds = grpc.ServerCredentials.createInsecure();
  const bound = (target: string) =>
    new Promise<number>((resolve, reject) =>
      server!.bindAsync(target, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
  const ports = [await bound('127.0.0.1:0'), await bound('127.0.0.1:0')];
  const listeners = http2ServersOf(server, 'test');
  // Node's HTTP/2 server is a net.Server that emits 'session' and 'stream'.
  expect(listeners.map((l) => (l.address() as { port: number }).port).sort()).toEqual(ports.sort());
  for (const listener of listeners) {
    expect(listener.listening).toBe(true);
    expect(listener.listenerCount('session') + listener.listenerCount('stream')).toBeGreaterThan(0);
  }
});

it('refuses, naming what needed them, when a grpc-js has no HTTP/2 servers to reach', () => {
  expect(() => http2ServersOf(new grpc.Server(), 'bound streams')).toThrow(
    `cannot bound streams: this @grpc/grpc-js no longer exposes its HTTP/2 servers (checked against ${GRPC_JS_VERSION}`,
  );
});

it('no other source file touches grpc-js internals', async () => {
  const src = path.join(ROOT, 'src');
  const touching: string[] = [];
  for (const e of await readdir(src, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const file = path.join(e.parentPath, e.name);
    if (/\bhttp2Servers\b(?!Of)|as unknown as \{ *(sessions|handlers|started)\b/.test(await readFile(file, 'utf8'))) {
      touching.push(path.relative(src, file));
    }
  }
  expect(touching).toEqual([path.join('transport', 'grpc-internals.ts')]);
});

it('hands a client-streaming call its messages one at a time, the end only after the last', async () => {
  const PATH = '/test.Logs/Stream';
  const service: grpc.ServiceDefinition = {
    Stream: {
      path: PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
    Ping: {
      path: '/test.Logs/Ping',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const got: string[] = [];
  let next: (() => void) | undefined;
  server = new grpc.Server();
  server.addService(service, {
    Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      next = oneMessageAtATime(call);
      call.on('data', (b: Buffer) => got.push(b.toString()));
      call.on('end', () => {
        got.push('end');
        callback(null, Buffer.alloc(0));
      });
    },
    Ping: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const ping = () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        '/test.Logs/Ping',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  const answered = new Promise<void>((resolve) => {
    const stream = client.makeClientStreamRequest(
      PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      () => resolve(),
    );
    for (const m of ['a', 'b', 'c']) stream.write(Buffer.from(m));
    stream.end();
  });
  try {
    for (const expected of [['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c', 'end']]) {
      await waitFor(() => got.length === expected.length);
      // Calls to the same server go on meanwhile; the stream hands over nothing more until asked.
      for (let i = 0; i < 5; i++) await ping();
      expect(got).toEqual(expected);
      next!();
    }
    await answered;
  } finally {
    client.close();
  }
});

// The per-call check interceptor on a real grpc-js server: it refuses with
// the check's status before the handler runs, and leaves health checks open.
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { callAuthInterceptor } from '../src/security/call-auth.js';
import type { CallCheck } from '../src/security/call-checks.js';

// Raw bytes in and out: an empty message is a valid request and response
// for both methods, so no proto files are needed.
const identity = (b: Buffer): Buffer => b;
function method(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
const definition = {
  Check: method('/grpc.health.v1.Health/Check'),
  HandleMetric: method('/metric.HandleMetricService/HandleMetric'),
};

let server: grpc.Server;
let client: grpc.Client;
let logs = '';
let handled = 0;

beforeAll(async () => {
  const stderr = new PassThrough();
  stderr.on('data', (c: Buffer) => (logs += c.toString()));
  const log = createLogger('warn', stderr);
  const refuseAll: CallCheck = () => ({ code: grpc.status.UNAUTHENTICATED, details: 'no credentials' });
  server = new grpc.Server({
    interceptors: [
      callAuthInterceptor([refuseAll], (method, peer, r) => log.warn({ method, peer, code: r.code }, r.details)),
    ],
  });
  const answer: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => {
    handled++;
    callback(null, Buffer.alloc(0));
  };
  server.addService(definition, { Check: answer, HandleMetric: answer });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const Client = grpc.makeGenericClientConstructor(definition, 'Test');
  client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

function call(name: 'Check' | 'HandleMetric'): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(definition[name].path, identity, identity, Buffer.alloc(0), (err) => resolve(err));
  });
}

describe('callAuthInterceptor', () => {
  it("answers with the check's status and never runs the handler, logging method and reason", async () => {
    const err = await call('HandleMetric');
    expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err?.details).toBe('no credentials');
    expect(handled).toBe(0);
    expect(logs).toContain('"method":"/metric.HandleMetricService/HandleMetric"');
    expect(logs).toContain('"msg":"no credentials"');
  });

  it('lets health checks through unchecked (probes carry no token)', async () => {
    expect(await call('Check')).toBeNull();
    expect(handled).toBe(1);
  });
});

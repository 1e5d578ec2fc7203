// A repeated token header is refused with UNAUTHENTICATED, as the README
// says. Node's HTTP/2 keeps only the first value of a repeated
// `authorization` header (one of its single-value headers), so the call used
// to be decided by its first value. Node's client refuses to send such a
// request; a raw HTTP/2 client over real TLS does.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { METRIC_METHOD_PATH, serviceDefinitions } from '../src/wire/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { rawGrpcCall, type RawAnswer } from './helpers/raw-h2.js';
import { int } from './helpers/values.js';

const TOKEN = 'tok-3f9a';
let pki: Pki;
let server: KeyPair;

beforeAll(async () => {
  pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'repeated-header-')));
  server = await pki.leaf('server', await pki.ca('ca'), { sans: SERVER_SANS, serial: '1001' });
  await writeFile(pki.file('token'), TOKEN);
});

afterAll(() => rm(pki.dir, { recursive: true, force: true }));

let adapter: TestAdapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});

async function start(tokenHeader = 'authorization'): Promise<TestAdapter> {
  adapter = await startTestAdapter({
    logLevel: 'info',
    security: {
      ...DEFAULT_OPTIONS.security,
      tls: { certFile: server.cert, keyFile: server.key, requireClientCert: false },
      tokenFile: pki.file('token'),
      tokenHeader,
    },
  });
  return adapter;
}

const REPORT = Buffer.from(
  serviceDefinitions().metric.HandleMetric.requestSerialize({ instances: [{ name: 'm', value: int(1) }] }),
);

async function call(t: TestAdapter, headers: [string, string][]): Promise<RawAnswer> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: t.adapter.port,
    servername: 'localhost',
    ca: await pki.read('ca.crt'),
    ALPNProtocols: ['h2'],
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return rawGrpcCall(socket, METRIC_METHOD_PATH, 'localhost', headers, REPORT);
}

describe('a repeated token header', () => {
  it('the raw client gets through with the token sent once', async () => {
    const t = await start();
    expect((await call(t, [['authorization', `Bearer ${TOKEN}`]])).grpcStatus).toBe(status.OK);
  });

  it.each([
    ['twice the right token', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]],
    ['the right token first, then another', [`Bearer ${TOKEN}`, 'wrong']],
    ['the right token second', ['wrong', TOKEN]],
  ])('authorization: %s is UNAUTHENTICATED', async (_name, values) => {
    const t = await start();
    const answer = await call(
      t,
      values.map((v): [string, string] => ['authorization', v]),
    );
    expect(answer.grpcStatus).toBe(status.UNAUTHENTICATED);
    expect(answer.grpcMessage).toBe('token header authorization sent more than once');
    expect(t.logs()).toContain('token header authorization sent more than once');
    expect(t.logs()).not.toContain(TOKEN);
  });

  it('a custom token header sent twice is UNAUTHENTICATED too', async () => {
    const t = await start('x-api-key');
    const answer = await call(t, [
      ['x-api-key', TOKEN],
      ['x-api-key', TOKEN],
    ]);
    expect(answer.grpcStatus).toBe(status.UNAUTHENTICATED);
    expect(answer.grpcMessage).toBe('token header x-api-key sent more than once');
  });
});

// The token Mixer sends under connection.authentication.tls (token_path with
// auth_header PLAIN/BEARER or custom_header), checked against --token-file,
// and secrets kept out of logs and records.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { MISSING_HINT } from '../src/security/call-checks.js';
import type { SecurityOptions } from '../src/security/security.js';
import { paramsAny, type Clients } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { connectAsMixer, report } from './helpers/mixer-tls.js';
import { int, str } from './helpers/values.js';
import { rpcError, waitFor } from './helpers/wait.js';

let pki: Pki;
let server: KeyPair;
let tokenFile: string;

beforeAll(async () => {
  pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'token-')));
  server = await pki.leaf('server', await pki.ca('ca'), { sans: SERVER_SANS, serial: '1001' });
  tokenFile = pki.file('token');
});

afterAll(() => rm(pki.dir, { recursive: true, force: true }));

let adapter: TestAdapter | undefined;
const opened: Clients[] = [];

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await adapter?.stop();
  adapter = undefined;
});

async function start(
  token: string,
  overrides: Partial<SecurityOptions> = {},
  { dataDir = pki.dir, logLevel = 'info' as const }: { dataDir?: string; logLevel?: 'info' | 'trace' } = {},
) {
  await writeFile(tokenFile, token);
  adapter = await startTestAdapter({
    dataDir,
    logLevel,
    security: {
      ...DEFAULT_OPTIONS.security,
      tls: { certFile: server.cert, keyFile: server.key, requireClientCert: false },
      tokenFile,
      ...overrides,
    },
  });
  return adapter;
}

/** A client sending `value` in `header` on every call, as Mixer does with token_path. */
async function withToken(t: TestAdapter, header: string, value: string): Promise<Clients> {
  const clients = connectAsMixer(t.adapter.port, { ca: await pki.read('ca.crt'), token: { header, value } });
  opened.push(clients);
  return clients;
}

describe('token in the authorization header (auth_header BEARER or PLAIN)', () => {
  it('accepts "Bearer <token>" and "<token>"', async () => {
    const t = await start('s3cret-token');
    await expect(report(await withToken(t, 'authorization', 'Bearer s3cret-token'))).resolves.toEqual({});
    await expect(report(await withToken(t, 'authorization', 's3cret-token'))).resolves.toEqual({});
    await expect(report(await withToken(t, 'authorization', 'bearer s3cret-token'))).resolves.toEqual({});
  });

  it('answers UNAUTHENTICATED to a wrong token, a newline-padded one, or none, and logs why', async () => {
    const t = await start('s3cret-token');
    const wrong = await rpcError(report(await withToken(t, 'authorization', 'Bearer s3cret-tokeX')));
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    expect(wrong.details).toBe('token in header authorization does not match');
    const prefixOnly = await rpcError(report(await withToken(t, 'authorization', 'Bearer s3cret')));
    expect(prefixOnly.code).toBe(status.UNAUTHENTICATED);
    const missing = await rpcError(report(await withToken(t, 'x-other', 's3cret-token')));
    expect(missing.code).toBe(status.UNAUTHENTICATED);
    expect(missing.details).toBe(`token header authorization missing${MISSING_HINT}`);
    expect(t.logs()).toContain('"msg":"call refused: token header authorization missing (or dropped by HTTP/2');
  });
});

describe('a token file ending in a newline (echo tok > file)', () => {
  it('is refused at start, saying why, since Mixer would send the newline too', async () => {
    await expect(start('s3cret-token\n')).rejects.toThrow(
      `--token-file ${tokenFile}: token file ends with a newline. Mixer sends its token_path file byte for byte`,
    );
  });

  it("Mixer's header from such a file (Bearer <token>\\n) arrives as no header: the answer says what may be wrong", async () => {
    // What Mixer 1.6.14 sends for that file (measured: realmixer behind a
    // TLS proxy, HPACK decoded): the raw bytes. grpc-js would refuse to send
    // it, Node's HTTP/2 client does not, so it goes out as Mixer's does.
    const t = await start('s3cret-token');
    const answer = await rawGrpcCall(t.adapter.port, await pki.read('ca.crt'), {
      authorization: 'Bearer s3cret-token\n',
    });
    expect(answer.status).toBe(String(status.UNAUTHENTICATED));
    expect(answer.message).toBe(`token header authorization missing${MISSING_HINT}`);
  });
});

describe('token in a custom header (custom_header)', () => {
  it('accepts the raw token in that header only', async () => {
    const t = await start('k-123', { tokenHeader: 'x-api-key' });
    await expect(report(await withToken(t, 'x-api-key', 'k-123'))).resolves.toEqual({});
    expect((await rpcError(report(await withToken(t, 'x-api-key', 'Bearer k-123')))).code).toBe(status.UNAUTHENTICATED);
    const elsewhere = await rpcError(report(await withToken(t, 'authorization', 'k-123')));
    expect(elsewhere.details).toBe(`token header x-api-key missing${MISSING_HINT}`);
  });
});

describe('token reload', () => {
  it('takes a rotated token without a restart and keeps the old one when the file turns invalid', async () => {
    const t = await start('old-token', { reloadIntervalMs: 100 });
    const old = await withToken(t, 'authorization', 'old-token');
    await expect(report(old)).resolves.toEqual({});

    await writeFile(tokenFile, '');
    await waitFor(() => t.logs().includes('token file not reloaded'));
    expect(t.logs()).toContain('token file is empty');
    await expect(report(old)).resolves.toEqual({});

    await writeFile(tokenFile, 'new-token');
    await waitFor(() => t.logs().includes('"msg":"token file reloaded"'));
    expect((await rpcError(report(old))).code).toBe(status.UNAUTHENTICATED);
    await expect(report(await withToken(t, 'authorization', 'new-token'))).resolves.toEqual({});
  });
});

describe('secrets', () => {
  it('never shows auth_key, the token or a presented token in logs (level trace) or records', async () => {
    const secrets = {
      authKey: 'AUTHKEY-7f3a9c51',
      token: 'TOKEN-b81d2e66',
      wrongToken: 'TOKEN-WRONG-91c0',
      wrongKey: 'PRESENTED-WRONG-44aa',
    };
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'secrets-'));
    const a = await start(secrets.token, {}, { dataDir, logLevel: 'trace' });
    const good = await withToken(a, 'authorization', `Bearer ${secrets.token}`);
    const check = (presented: string, params: Parameters<typeof paramsAny>[0]) =>
      good.authorization({
        instance: { name: 'icheck', subject: { properties: { custom_token_header: str(presented) } } },
        adapter_config: paramsAny(params),
      });
    for (const params of [
      { file_path: 'text.txt', auth_key: secrets.authKey },
      { file_path: 'json.jsonl', auth_key: secrets.authKey, format: 'json' },
      { sink: 'stdout', auth_key: secrets.authKey },
    ]) {
      expect((await check(secrets.authKey, params)).status?.code).toBe(status.OK);
      expect((await check(secrets.wrongKey, params)).status?.code).toBe(status.PERMISSION_DENIED);
      await good.metric({ instances: [{ name: 'm', value: int(1) }], adapter_config: paramsAny(params) });
    }
    const bad = await withToken(a, 'authorization', `Bearer ${secrets.wrongToken}`);
    expect((await rpcError(report(bad))).code).toBe(status.UNAUTHENTICATED);
    await a.stop();
    adapter = undefined;

    const files = await Promise.all((await readdir(dataDir)).map((f) => readFile(path.join(dataDir, f), 'utf8')));
    expect(files).toHaveLength(2);
    const everything = [a.logs(), a.stdout(), ...files].join('\n');
    // The calls happened and were logged and recorded at all.
    expect(a.logs()).toContain('HandleAuthorization done');
    expect(a.stdout()).toContain('AuthKey:***');
    expect(files.join('')).toContain('"authKey":"***"');
    for (const secret of Object.values(secrets)) expect(everything).not.toContain(secret);
    await rm(dataDir, { recursive: true, force: true });
  });
});

/** One gRPC call made with Node's HTTP/2 client, headers as given (no validation): the grpc-status and message. */
async function rawGrpcCall(
  port: number,
  ca: Buffer,
  headers: Record<string, string>,
): Promise<{ status: string | undefined; message: string | undefined }> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
  try {
    return await new Promise((resolve, reject) => {
      session.on('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': '/metric.HandleMetricService/HandleMetric',
        'content-type': 'application/grpc',
        te: 'trailers',
        ...headers,
      });
      const answer = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] === undefined) return;
        resolve({ status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) });
      };
      req.on('response', answer);
      req.on('trailers', answer);
      req.on('error', reject);
      req.resume();
      req.end(Buffer.alloc(5)); // an empty, uncompressed message
    });
  } finally {
    session.close();
  }
}

// health, mixer (the stand-in) and replay dial a TLS and a mutual-TLS
// adapter with the settings of Mixer's connection.authentication, over real
// loopback connections with certificates made for the test.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, type RunningAdapter } from '../src/main.js';
import type { SecurityOptions } from '../src/security/security.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { MIXER_SPIFFE, Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { runBin } from './helpers/cli.js';
import { writeOpConfig } from './helpers/opconfig.js';

let work: string;
let pki: Pki;
let ca: KeyPair;
let server: KeyPair;
let mixer: KeyPair;
let tokenFile: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'client-tls-'));
  pki = new Pki(work);
  ca = await pki.ca('ca');
  [server, mixer] = await Promise.all([
    pki.leaf('server', ca, { sans: SERVER_SANS, serial: '3001' }),
    pki.leaf('mixer', ca, { sans: `URI:${MIXER_SPIFFE}`, serial: '3002' }),
  ]);
  tokenFile = path.join(work, 'token');
  await writeFile(tokenFile, 's3cret');
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

async function startTls(overrides: Partial<SecurityOptions>): Promise<RunningAdapter> {
  return startQuietAdapter(work, {
    security: {
      ...DEFAULT_OPTIONS.security,
      tls: { certFile: server.cert, keyFile: server.key, requireClientCert: false },
      ...overrides,
    },
  });
}

/** The config for `flow` with the handler pointing at `address` (the stand-in dials it itself). */
async function config(flow: 'metric' | 'authorization', address: string, name: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir);
  return writeOpConfig(flow, { address, filePath: `${name}.txt` }, dir);
}

describe('TLS with a token (connection.authentication.tls)', () => {
  let adapter: RunningAdapter;
  beforeAll(async () => {
    adapter = await startTls({ tokenFile });
  });
  afterAll(() => adapter.stop());

  const tls = (): string[] => ['--ca-certificates', ca.cert, '--server-name', 'localhost'];

  it('health verifies the adapter against the CA under the server name', { timeout: 30_000 }, async () => {
    const r = await runBin(['health', '--address', adapter.address, ...tls()]);
    expect(r.stdout).toBe('SERVING\n');
    expect(r.code).toBe(0);
  });

  it('health refuses an adapter whose CA it was not given', { timeout: 30_000 }, async () => {
    const r = await runBin(['health', '--address', adapter.address, '--tls', '--server-name', 'localhost']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/health check of .* failed: UNAVAILABLE/);
  });

  it('the stand-in reports with a Bearer token and checks with a plain one', { timeout: 30_000 }, async () => {
    const dir = await config('metric', adapter.address, 'tls-metric');
    const report = await runBin([
      'mixer',
      'report',
      '--config',
      dir,
      '-i',
      'request.size=5',
      ...tls(),
      '--token-path',
      tokenFile,
      '--auth-header',
      'BEARER',
    ]);
    expect(report.stdout).toBe('Report RPC returned OK\n');
    expect(await readFile(path.join(work, 'tls-metric.txt'), 'utf8')).toContain('Value = 5');
    const checkDir = await config('authorization', adapter.address, 'tls-check');
    const check = await runBin([
      'mixer',
      'check',
      '--config',
      checkDir,
      '--stringmap_attributes',
      'request.headers=x-custom-token:abc',
      ...tls(),
      '--token-path',
      tokenFile,
      '--auth-header',
      'PLAIN',
    ]);
    expect(check.stdout).toMatch(/^Check RPC completed successfully\. Check status was OK\n/);
  });

  it('the adapter refuses a wrong token, and the stand-in shows it as Mixer would', { timeout: 30_000 }, async () => {
    const wrong = path.join(work, 'wrong-token');
    await writeFile(wrong, 'nope');
    const dir = await config('metric', adapter.address, 'tls-wrong');
    const r = await runBin([
      'mixer',
      'report',
      '--config',
      dir,
      '-i',
      'request.size=5',
      ...tls(),
      '--token-path',
      wrong,
      '--auth-header',
      'BEARER',
    ]);
    expect(r.stdout).toMatch(
      /^Report RPC returned Unknown \(1 error occurred:\n\t\* rpc error: code = Unauthenticated desc = /,
    );
    expect(r.code).toBe(1);
  });

  it('refuses a token file with a trailing newline, naming the cause', { timeout: 30_000 }, async () => {
    const newline = path.join(work, 'newline-token');
    await writeFile(newline, 's3cret\n');
    const dir = await config('metric', adapter.address, 'tls-newline');
    const r = await runBin([
      'mixer',
      'report',
      '--config',
      dir,
      ...tls(),
      '--token-path',
      newline,
      '--auth-header',
      'BEARER',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the token holds a line break (often a trailing newline)');
  });

  it('refuses settings Mixer refuses: a token without a header', { timeout: 30_000 }, async () => {
    const r = await runBin(['health', '--address', adapter.address, ...tls(), '--token-path', tokenFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--token-path needs --auth-header PLAIN|BEARER or --custom-header NAME');
  });
});

describe('mutual TLS (connection.authentication.mutual)', () => {
  let adapter: RunningAdapter;
  beforeAll(async () => {
    adapter = await startTls({
      tls: { certFile: server.cert, keyFile: server.key, requireClientCert: true, clientCaFile: ca.cert },
      allowedClientSans: [MIXER_SPIFFE],
    });
  });
  afterAll(() => adapter.stop());

  const mtls = (): string[] => [
    '--ca-certificates',
    ca.cert,
    '--client-certificate',
    mixer.cert,
    '--private-key',
    mixer.key,
    '--server-name',
    'localhost',
  ];

  it('health, the stand-in and replay get through with the client certificate', { timeout: 60_000 }, async () => {
    expect((await runBin(['health', '--address', adapter.address, ...mtls()])).stdout).toBe('SERVING\n');
    const dir = await config('authorization', adapter.address, 'mtls-check');
    const recording = path.join(work, 'mtls.jsonl');
    const check = await runBin([
      'mixer',
      'check',
      '--config',
      dir,
      '--stringmap_attributes',
      'request.headers=x-custom-token:abc',
      ...mtls(),
      '--record',
      recording,
      '--record-secrets',
    ]);
    expect(check.stdout).toMatch(/Check status was OK\n/);
    const replay = await runBin(['replay', recording, '--address', adapter.address, ...mtls()]);
    expect(replay.stdout).toContain('replayed 1 calls');
    expect(replay.stdout).toContain('1 same, 0 different');
    expect(replay.code).toBe(0);
  });

  it(
    "the stand-in dials with the handler's own connection.authentication.mutual, as Mixer",
    { timeout: 30_000 },
    async () => {
      const dir = await config('metric', adapter.address, 'mtls-config');
      const file = path.join(dir, 'operator.yaml');
      const auth = [
        '    authentication:',
        '      mutual:',
        `        private_key: ${mixer.key}`,
        `        client_certificate: ${mixer.cert}`,
        `        ca_certificates: ${ca.cert}`,
        '        server_name: localhost',
      ].join('\n');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace("    timeout: '5s'", `    timeout: '5s'\n${auth}`));
      const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=9']);
      expect(r.stdout).toBe('Report RPC returned OK\n');
      expect(await readFile(path.join(work, 'mtls-config.txt'), 'utf8')).toContain('Value = 9');
    },
  );

  it('without the client certificate the adapter refuses the connection', { timeout: 30_000 }, async () => {
    const dir = await config('metric', adapter.address, 'mtls-none');
    const r = await runBin([
      'mixer',
      'report',
      '--config',
      dir,
      '-i',
      'request.size=1',
      '--ca-certificates',
      ca.cert,
      '--server-name',
      'localhost',
    ]);
    expect(r.stdout).toMatch(
      /^Report RPC returned Unknown \(1 error occurred:\n\t\* rpc error: code = Unavailable desc = /,
    );
  });
});

// Security flags -> options, option combinations, and the small parsers
// behind them; plus one run of the built CLI with mutual TLS flags.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yargs from 'yargs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOptions, toAdapterOptions } from '../src/commands/serve.js';
import { DEFAULT_SECURITY, securityProblems } from '../src/security/security.js';
import { uriSans } from '../src/security/san.js';
import { tokenDigest } from '../src/security/token-file.js';
import { digestSecret } from '../src/security/secret-digest.js';
import { connect } from './helpers/clients.js';
import { BIN, ROOT, startCli } from './helpers/cli.js';
import { MIXER_SPIFFE, Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { mixerCredentials } from './helpers/mixer-tls.js';
import { int } from './helpers/values.js';

const run = promisify(execFile);

function parse(argv: string[]) {
  // The way the serve command declares them, so the positional port counts.
  const args = yargs(argv)
    .command('$0 [port]', 'serve', (y) => serveOptions(y))
    .strict()
    .exitProcess(false)
    .parseSync();
  return toAdapterOptions(args);
}

describe('security flags', () => {
  it('map to AdapterOptions.security, paths resolved, header lower-cased, SANs repeatable', () => {
    const options = parse([
      '--tls-cert=c.pem',
      '--tls-key=k.pem',
      '--tls-client-ca=ca.pem',
      '--require-client-cert',
      '--allowed-client-san=spiffe://a/ns/x/sa/y',
      '--allowed-client-san',
      'spiffe://b/ns/x/sa/z',
      '8001',
      '--token-file=tok',
      '--token-header=X-Api-Key',
      '--reload-interval=500',
    ]);
    expect(options.port).toBe(8001);
    expect(options.security).toEqual({
      tls: {
        certFile: path.resolve('c.pem'),
        keyFile: path.resolve('k.pem'),
        clientCaFile: path.resolve('ca.pem'),
        requireClientCert: true,
      },
      allowedClientSans: ['spiffe://a/ns/x/sa/y', 'spiffe://b/ns/x/sa/z'],
      tokenFile: path.resolve('tok'),
      tokenHeader: 'x-api-key',
      reloadIntervalMs: 500,
    });
  });

  it('default to plaintext without per-call checks', () => {
    expect(parse([]).security).toEqual({ ...DEFAULT_SECURITY, tls: undefined, tokenFile: undefined });
  });

  it('refuse a certificate without its key, and a client CA without a certificate', () => {
    expect(() => parse(['--tls-cert=c.pem'])).toThrow('--tls-cert and --tls-key go together');
    expect(() => parse(['--tls-client-ca=ca.pem'])).toThrow('--tls-client-ca needs --tls-cert and --tls-key');
    expect(() => parse(['--require-client-cert'])).toThrow('--require-client-cert needs --tls-cert and --tls-key');
  });
});

describe('securityProblems', () => {
  it('names every bad combination at once', () => {
    const problems = securityProblems({
      tls: { certFile: 'c', keyFile: 'k', requireClientCert: true },
      allowedClientSans: ['not a uri'],
      tokenHeader: 'grpc-token',
      reloadIntervalMs: 5,
    });
    expect(problems).toEqual([
      '--require-client-cert needs --tls-client-ca (the CA client certificates must chain to)',
      '--allowed-client-san needs --tls-client-ca (SANs are trusted only from verified certificates)',
      '--allowed-client-san: expected a URI such as spiffe://td/ns/x/sa/y, got "not a uri"',
      '--token-header: expected a lower-case text header name (not grpc-*, not *-bin), got "grpc-token"',
      '--reload-interval: expected an integer of at least 100 (ms), got 5',
    ]);
  });

  it('refuses a token over plaintext', () => {
    expect(securityProblems({ ...DEFAULT_SECURITY, tokenFile: 't' })).toEqual([
      '--token-file needs --tls-cert and --tls-key (a token sent in plaintext can be read on the way)',
    ]);
  });

  it('accepts a complete mutual TLS setup', () => {
    const tls = { certFile: 'c', keyFile: 'k', clientCaFile: 'ca', requireClientCert: true };
    expect(securityProblems({ ...DEFAULT_SECURITY, tls, allowedClientSans: [MIXER_SPIFFE], tokenFile: 't' })).toEqual(
      [],
    );
  });
});

describe('uriSans', () => {
  it('picks URI entries, unquoting the ones Node quotes', () => {
    expect(uriSans(`DNS:localhost, IP Address:127.0.0.1, URI:${MIXER_SPIFFE}`)).toEqual([MIXER_SPIFFE]);
    expect(uriSans('URI:"spiffe://td/a, URI:spiffe://td/forged", DNS:x')).toEqual([
      'spiffe://td/a, URI:spiffe://td/forged',
    ]);
    expect(uriSans('DNS:x')).toEqual([]);
    expect(uriSans(undefined)).toEqual([]);
  });
});

describe('tokenDigest', () => {
  it('takes the file byte for byte and refuses a trailing CR/LF, as Mixer would send it', () => {
    expect(() => tokenDigest(Buffer.from('abc\n'))).toThrow(/ends with a newline/);
    expect(() => tokenDigest(Buffer.from('abc\r\n'))).toThrow(/ends with a newline/);
    expect(tokenDigest(Buffer.from('abc'))).toEqual(digestSecret(Buffer.from('abc')));
    expect(tokenDigest(Buffer.from('a b'))).not.toEqual(tokenDigest(Buffer.from('ab')));
  });

  it('refuses an empty token and bytes a header cannot carry, without quoting them', () => {
    expect(() => tokenDigest(Buffer.from(''))).toThrow('token file is empty');
    expect(() => tokenDigest(Buffer.from(' secret'))).toThrow(/bytes a header cannot carry/);
    let message = '';
    try {
      tokenDigest(Buffer.from('sec\u0000ret'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('bytes a header cannot carry');
    expect(message).not.toContain('sec\u0000ret');
  });
});

describe('mygrpcadapter with mutual TLS flags', () => {
  let pki: Pki;
  let server: KeyPair;
  let mixer: KeyPair;
  beforeAll(async () => {
    pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'cli-tls-')));
    const ca = await pki.ca('ca');
    [server, mixer] = await Promise.all([
      pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' }),
      pki.leaf('mixer', ca, { sans: `URI:${MIXER_SPIFFE}`, serial: '2001' }),
    ]);
  });
  afterAll(() => rm(pki.dir, { recursive: true, force: true }));

  it('serves Mixer over mutual TLS with the SAN allow-list', async () => {
    const proc = await startCli([
      '0',
      '--host=127.0.0.1',
      `--tls-cert=${server.cert}`,
      `--tls-key=${server.key}`,
      `--tls-client-ca=${pki.file('ca.crt')}`,
      '--require-client-cert',
      `--allowed-client-san=${MIXER_SPIFFE}`,
    ]);
    try {
      const clients = connect(
        proc.address,
        mixerCredentials({
          ca: await pki.read('ca.crt'),
          clientCert: { cert: await readFile(mixer.cert), key: await readFile(mixer.key) },
        }),
        { 'grpc.ssl_target_name_override': 'localhost' },
      );
      await expect(clients.metric({ instances: [{ name: 'm', value: int(1) }] })).resolves.toEqual({});
      clients.close();
      expect(proc.stderr()).toContain('"msg":"TLS certificate loaded"');
      process.kill(proc.child.pid!, 'SIGTERM');
      expect(await proc.exited).toBe(0);
    } finally {
      if (proc.child.exitCode === null) process.kill(-proc.child.pid!, 'SIGKILL');
    }
  });

  it('exits 1 naming the problem when a token would travel in plaintext', async () => {
    await expect(
      run(process.execPath, [BIN, '0', '--host=127.0.0.1', `--token-file=${pki.file('ca.crt')}`], { cwd: ROOT }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('--token-file needs --tls-cert and --tls-key'),
    });
  });
});

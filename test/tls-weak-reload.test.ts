// A reloaded certificate the TLS stack cannot serve (a 512-bit RSA key, an
// MD5 signature) used to be logged as "TLS certificate reloaded" and then
// every new handshake was reset. Now it is tried first (the secure context
// the TLS stack would build, then a loopback handshake), refused, counted as
// a failed reload, and the previous certificate keeps serving. A DSA key is
// one OpenSSL loads but cannot complete a handshake with.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import type { Clients } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { connectAsMixer, report } from './helpers/mixer-tls.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

let pki: Pki;
let ca: KeyPair;
let good: KeyPair;
const weak: Record<string, KeyPair> = {};

/** A self-signed certificate from openssl with the given key. */
async function selfSigned(name: string, newkey: string): Promise<KeyPair> {
  const pair = { cert: pki.file(`${name}.crt`), key: pki.file(`${name}.key`) };
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    newkey,
    '-nodes',
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return pair;
}

/** A leaf whose signature uses MD5, from an RSA CA (ECDSA has no MD5 variant). */
async function md5Leaf(): Promise<KeyPair> {
  const rsaCa = await selfSigned('rsa-ca', 'rsa:2048');
  const pair = { cert: pki.file('md5.crt'), key: pki.file('md5.key') };
  const csr = pki.file('md5.csr');
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    pair.key,
    '-out',
    csr,
    '-subj',
    '/CN=md5',
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-md5',
    '-in',
    csr,
    '-CA',
    rsaCa.cert,
    '-CAkey',
    rsaCa.key,
    '-set_serial',
    '0x5',
    '-days',
    '2',
    '-out',
    pair.cert,
  ]);
  return pair;
}

const REFUSED_BY_CONTEXT = /TLS stack refuses it/;
const REFUSED_BY_HANDSHAKE = /TLS handshake with it fails/;

beforeAll(async () => {
  pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'tls-weak-')));
  ca = await pki.ca('ca');
  good = await pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' });
  const dsaParams = pki.file('dsa.params');
  await run('openssl', [
    'genpkey',
    '-genparam',
    '-algorithm',
    'DSA',
    '-pkeyopt',
    'dsa_paramgen_bits:2048',
    '-out',
    dsaParams,
  ]);
  [weak['512-bit RSA key'], weak['MD5 signature'], weak['DSA key']] = await Promise.all([
    selfSigned('rsa512', 'rsa:512'),
    md5Leaf(),
    selfSigned('dsa', `dsa:${dsaParams}`),
  ]);
}, 60_000);

const WHY: Record<string, RegExp> = {
  '512-bit RSA key': REFUSED_BY_CONTEXT,
  'MD5 signature': REFUSED_BY_CONTEXT,
  'DSA key': REFUSED_BY_HANDSHAKE,
};

afterAll(() => rm(pki.dir, { recursive: true, force: true }));

let adapter: TestAdapter | undefined;
const opened: Clients[] = [];

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await adapter?.stop();
  adapter = undefined;
});

async function start(certFile: string, keyFile: string, reloadIntervalMs = 100): Promise<TestAdapter> {
  adapter = await startTestAdapter({
    logLevel: 'info',
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    security: {
      ...DEFAULT_OPTIONS.security,
      reloadIntervalMs,
      tls: { certFile, keyFile, requireClientCert: false },
    },
  });
  return adapter;
}

async function servedSerial(t: TestAdapter): Promise<string> {
  let serial = '';
  const clients = connectAsMixer(t.adapter.port, {
    ca: await pki.read('ca.crt'),
    onServerCert: (c) => (serial = c.serialNumber),
  });
  opened.push(clients);
  await report(clients);
  return serial;
}

describe('a reloaded certificate the TLS stack cannot serve', () => {
  for (const kind of Object.keys(WHY)) {
    it(`(${kind}) is refused and counted; the previous one keeps serving`, async () => {
      const slug = kind.replace(/\W+/g, '-');
      const live = { cert: pki.file(`live-${slug}.crt`), key: pki.file(`live-${slug}.key`) };
      await copyFile(good.cert, live.cert);
      await copyFile(good.key, live.key);
      const t = await start(live.cert, live.key);
      expect(await servedSerial(t)).toBe('1001');

      // Key first, then certificate: the watcher may read the pair half-way, which is refused too.
      await copyFile(weak[kind]!.key, live.key);
      await copyFile(weak[kind]!.cert, live.cert);
      await waitFor(() => t.logs().includes('TLS certificate not reloaded') && WHY[kind]!.test(t.logs()));
      // Several more reload intervals: the bad pair is not tried again, nor passed on.
      await new Promise((r) => setTimeout(r, 500));
      expect(t.logs()).not.toContain('"msg":"TLS certificate reloaded"');
      expect(await servedSerial(t)).toBe('1001');
      const metrics = await t.adapter.metrics!.registry.getSingleMetricAsString('mygrpcadapter_tls_reloads_total');
      // The half-written pair (new key, old certificate) may be seen first: one or two refusals.
      expect(metrics).toMatch(/mygrpcadapter_tls_reloads_total\{outcome="error"\} [12]$/m);
      expect(metrics).not.toMatch(/outcome="ok"\} [1-9]/);

      // The good pair back: no reload to log (it never left), and served as before.
      await copyFile(good.key, live.key);
      await copyFile(good.cert, live.cert);
      await new Promise((r) => setTimeout(r, 300));
      expect(await servedSerial(t)).toBe('1001');
    });
  }

  it('fails the start, naming the reason, when the first certificate cannot be served', async () => {
    for (const [kind, why] of Object.entries(WHY)) {
      await expect(start(weak[kind]!.cert, weak[kind]!.key)).rejects.toThrow(why);
    }
  });
});

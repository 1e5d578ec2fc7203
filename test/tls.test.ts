// TLS, mutual TLS as Mixer dials it, the client SAN allow-list and
// certificate reload, over real loopback connections.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityOptions } from '../src/security/security.js';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { connect, type Clients } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { INTRUDER_SPIFFE, MIXER_SPIFFE, Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { connectAsMixer, report, type MixerTlsOptions } from './helpers/mixer-tls.js';
import { rpcError, waitFor } from './helpers/wait.js';

let pki: Pki;
let ca: KeyPair;
let server: KeyPair;
let mixer: KeyPair;
let intruder: KeyPair;
let rogueMixer: KeyPair;
let noSpiffeServer: KeyPair;
let renewed: KeyPair;

beforeAll(async () => {
  pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'tls-')));
  ca = await pki.ca('ca');
  const rogueCa = await pki.ca('rogue-ca');
  [server, mixer, intruder, rogueMixer, noSpiffeServer, renewed] = await Promise.all([
    pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' }),
    pki.leaf('mixer', ca, { sans: `URI:${MIXER_SPIFFE}`, serial: '2001' }),
    pki.leaf('intruder', ca, { sans: `URI:${INTRUDER_SPIFFE}`, serial: '2002' }),
    pki.leaf('rogue-mixer', rogueCa, { sans: `URI:${MIXER_SPIFFE}`, serial: '2003' }),
    pki.leaf('no-spiffe-server', ca, { sans: 'DNS:localhost,IP:127.0.0.1', serial: '1002' }),
    pki.leaf('renewed', ca, { sans: SERVER_SANS, serial: '1003' }),
  ]);
});

afterAll(() => rm(pki.dir, { recursive: true, force: true }));

let adapter: TestAdapter | undefined;
const opened: Clients[] = [];

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await adapter?.stop();
  adapter = undefined;
});

function security(overrides: Partial<SecurityOptions>, tls: Partial<NonNullable<SecurityOptions['tls']>> = {}) {
  return {
    ...DEFAULT_OPTIONS.security,
    tls: { certFile: server.cert, keyFile: server.key, requireClientCert: false, ...tls },
    ...overrides,
  };
}

async function start(sec: SecurityOptions): Promise<TestAdapter> {
  adapter = await startTestAdapter({ security: sec, logLevel: 'info', metricsPort: 0, metricsHost: '127.0.0.1' });
  return adapter;
}

async function asMixer(t: TestAdapter, options: Partial<MixerTlsOptions> & { client?: KeyPair } = {}) {
  const clientCert = options.client
    ? {
        cert: await pki.read(path.basename(options.client.cert)),
        key: await pki.read(path.basename(options.client.key)),
      }
    : undefined;
  const clients = connectAsMixer(t.adapter.port, { ca: await pki.read('ca.crt'), clientCert, ...options });
  opened.push(clients);
  return clients;
}

describe('TLS (connection.authentication.tls)', () => {
  it('serves a client that verifies the adapter against the CA and host name', async () => {
    const t = await start(security({}));
    await expect(report(await asMixer(t))).resolves.toEqual({});
    expect(t.logs()).toContain('"msg":"TLS certificate loaded"');
    expect(t.logs()).toContain('"serial":"1001"');
  });

  it('refuses a plaintext client', async () => {
    const t = await start(security({}));
    const plain = connect(`127.0.0.1:${t.adapter.port}`);
    opened.push(plain);
    expect((await rpcError(report(plain))).code).toBe(status.UNAVAILABLE);
  });

  it('fails the start, naming the reason, when the key does not belong to the certificate', async () => {
    await expect(start(security({}, { keyFile: mixer.key }))).rejects.toThrow(
      'private key does not belong to the certificate',
    );
    await expect(start(security({}, { certFile: pki.file('missing.crt') }))).rejects.toThrow(
      `--tls-cert ${pki.file('missing.crt')}: ENOENT`,
    );
  });
});

describe('mutual TLS (connection.authentication.mutual)', () => {
  const mutual = () => security({}, { clientCaFile: ca.cert, requireClientCert: true });

  it("serves Mixer, whose check finds its own SPIFFE ID among the adapter certificate's URI SANs", async () => {
    const t = await start(mutual());
    await expect(report(await asMixer(t, { client: mixer }))).resolves.toEqual({});
  });

  it("is refused by Mixer's check when the adapter certificate lacks Mixer's SPIFFE ID", async () => {
    const t = await start(security({}, { certFile: noSpiffeServer.cert, keyFile: noSpiffeServer.key }));
    const err = await rpcError(report(await asMixer(t, { client: mixer })));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('match none of ours');
  });

  it('refuses a client without a certificate', async () => {
    const t = await start(mutual());
    expect((await rpcError(report(await asMixer(t)))).code).toBe(status.UNAVAILABLE);
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const t = await start(mutual());
    expect((await rpcError(report(await asMixer(t, { client: rogueMixer })))).code).toBe(status.UNAVAILABLE);
  });
});

describe('client SAN allow-list (--allowed-client-san)', () => {
  const allowList = () =>
    security({ allowedClientSans: ['spiffe://cluster.local/ns/other/sa/x', MIXER_SPIFFE] }, { clientCaFile: ca.cert });

  it('serves a client whose certificate carries an allowed URI SAN', async () => {
    const t = await start(allowList());
    await expect(report(await asMixer(t, { client: mixer }))).resolves.toEqual({});
  });

  it('answers PERMISSION_DENIED to a verified client with another SAN, and logs it', async () => {
    const t = await start(allowList());
    // Not Mixer, so it skips Mixer's own SAN match on the adapter.
    const err = await rpcError(report(await asMixer(t, { client: intruder, bypassSanCheck: true })));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toBe(`client certificate (URI SANs ${INTRUDER_SPIFFE}) is not on the allow-list`);
    expect(t.logs()).toContain(INTRUDER_SPIFFE);
    expect(t.logs()).toContain('"method":"/metric.HandleMetricService/HandleMetric"');
  });

  it('answers UNAUTHENTICATED without a client certificate, or with one from another CA', async () => {
    const t = await start(allowList());
    const none = await rpcError(report(await asMixer(t)));
    expect(none.code).toBe(status.UNAUTHENTICATED);
    expect(none.details).toContain('client certificate from the configured client CA is required');
    expect((await rpcError(report(await asMixer(t, { client: rogueMixer })))).code).toBe(status.UNAUTHENTICATED);
  });
});

describe('certificate reload', () => {
  it('trusts a client CA added to the bundle without a restart', async () => {
    const bundle = pki.file('live-ca.crt');
    await copyFile(ca.cert, bundle);
    const t = await start({
      ...security({}, { clientCaFile: bundle, requireClientCert: true }),
      reloadIntervalMs: 100,
    });
    expect((await rpcError(report(await asMixer(t, { client: rogueMixer })))).code).toBe(status.UNAVAILABLE);

    await writeFile(bundle, Buffer.concat([await pki.read('ca.crt'), await pki.read('rogue-ca.crt')]));
    await waitFor(() => t.logs().includes('"msg":"client CA bundle reloaded"'));
    expect(t.logs()).toContain('"certificates":2');
    await expect(report(await asMixer(t, { client: rogueMixer }))).resolves.toEqual({});
    await expect(report(await asMixer(t, { client: mixer }))).resolves.toEqual({});
  });

  it('serves a renewed certificate to new connections without a restart, and keeps the old one on a bad pair', async () => {
    const live = { cert: pki.file('live.crt'), key: pki.file('live.key') };
    await copyFile(server.cert, live.cert);
    await copyFile(server.key, live.key);
    const t = await start({
      ...security({}, { certFile: live.cert, keyFile: live.key }),
      reloadIntervalMs: 100,
    });
    const seen = async (): Promise<string> => {
      let serial = '';
      await report(await asMixer(t, { onServerCert: (c) => (serial = c.serialNumber) }));
      return serial;
    };
    expect(await seen()).toBe('1001');

    // A half-done rotation: new certificate, old key. Refused, old pair kept.
    await copyFile(renewed.cert, live.cert);
    await waitFor(() => t.logs().includes('TLS certificate not reloaded'));
    expect(t.logs()).toContain('private key does not belong to the certificate');
    expect(await seen()).toBe('1001');

    await copyFile(renewed.key, live.key);
    await waitFor(() => t.logs().includes('"msg":"TLS certificate reloaded"'));
    expect(t.logs()).toContain('"serial":"1003"');
    expect(await seen()).toBe('1003');
    // One refused pair, one reload: both counted for Prometheus.
    const metrics = await t.adapter.metrics!.registry.getSingleMetricAsString('mygrpcadapter_tls_reloads_total');
    expect(metrics).toContain('mygrpcadapter_tls_reloads_total{outcome="error"} 1');
    expect(metrics).toContain('mygrpcadapter_tls_reloads_total{outcome="ok"} 1');
  });
});

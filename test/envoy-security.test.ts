// The Envoy front-end sits behind the same transport as Mixer's services:
// mutual TLS and the client SAN allow-list refuse a caller before anything is
// decided; and its decisions are counted exactly as Mixer checks are, with
// the front-end as a label.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { MIXER_SPIFFE, INTRUDER_SPIFFE, Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { mixerCredentials } from './helpers/mixer-tls.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { readFile } from 'node:fs/promises';

describeWith(['envoy-protos'], 'ext_authz behind mutual TLS', () => {
  let dir: string;
  let pki: Pki;
  let ca: KeyPair;
  let envoyClient: KeyPair;
  let intruder: KeyPair;
  let t: TestAdapter;

  beforeAll(async () => {
    dir = await tempDir('envoy-tls-');
    pki = new Pki(dir);
    ca = await pki.ca('ca');
    const server = await pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' });
    // Istio's sidecars carry their workload's SPIFFE identity; MIXER_SPIFFE stands for an allowed one.
    envoyClient = await pki.leaf('envoy', ca, { sans: `URI:${MIXER_SPIFFE}`, serial: '2001' });
    intruder = await pki.leaf('intruder', ca, { sans: `URI:${INTRUDER_SPIFFE}`, serial: '2002' });
    const { folder } = await sampleOperatorConfig(dir);
    t = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [folder],
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      security: {
        ...DEFAULT_OPTIONS.security,
        tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.cert, requireClientCert: true },
        allowedClientSans: [MIXER_SPIFFE],
      },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function checkAs(who: KeyPair, token: string) {
    const ref = envoyReference();
    const credentials = mixerCredentials({
      ca: await readFile(ca.cert),
      clientCert: { cert: await readFile(who.cert), key: await readFile(who.key) },
      // Envoy checks the adapter's name, not Mixer's SAN match.
      bypassSanCheck: true,
    });
    return callRaw(
      `127.0.0.1:${t.adapter.port}`,
      CHECK_PATHS.v3,
      ref.encode('envoy.service.auth.v3.CheckRequest', httpCheck({ 'x-custom-token': token })),
      credentials,
      { 'grpc.ssl_target_name_override': 'localhost' },
    );
  }

  it('serves an allowed client certificate and refuses another before deciding', async () => {
    expect((await checkAs(envoyClient, 'abc')).code).toBe(0);
    const refused = await checkAs(intruder, 'abc');
    expect(refused.code).toBe(7);
    expect(refused.details).toMatch(/client certificate/i);
  });

  it('counts Envoy decisions and instances with frontend="envoy", apart from Mixer ones', async () => {
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
      const at = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return {
        envoyAllow: at(/decisions_total\{[^}]*decision="allow",reason="token_matches",frontend="envoy",key=""\} (\d+)/),
        envoyWrong: at(/decisions_total\{[^}]*decision="deny",reason="wrong_token",frontend="envoy",key=""\} (\d+)/),
        mixerAllow: at(/decisions_total\{[^}]*decision="allow",reason="token_matches",frontend="mixer",key=""\} (\d+)/),
        instances: at(/instances_total\{template="authorization",[^}]*frontend="envoy"\} (\d+)/),
        checks: at(/calls_total\{method="Check",code="OK"\} (\d+)/),
      };
    };
    const before = await scrape();
    await checkAs(envoyClient, 'abc');
    await checkAs(envoyClient, 'wrong');
    const after = await scrape();
    expect({
      envoyAllow: after.envoyAllow - before.envoyAllow,
      envoyWrong: after.envoyWrong - before.envoyWrong,
      mixerAllow: after.mixerAllow - before.mixerAllow,
      instances: after.instances - before.instances,
      checks: after.checks - before.checks,
    }).toEqual({ envoyAllow: 1, envoyWrong: 1, mixerAllow: 0, instances: 2, checks: 2 });
  });
});

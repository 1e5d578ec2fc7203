// A handler that names a sink this adapter has not enabled is refused with
// the flag that enables it, over a real loopback call: the operator reading
// Mixer's log sees the fix, not only the list of sinks the adapter has.
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Params } from '../src/generated/adapter/mygrpcadapter/config/Params.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { tempDir } from './helpers/opconfig.js';
import { int, str } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

let dir: string;
let plain: TestAdapter;
beforeAll(async () => {
  dir = await tempDir('sink-flags-');
  // Neither --prometheus-port nor --sink-module: only file and stdout.
  plain = await startTestAdapter({ logLevel: 'silent', dataDir: dir });
});
afterAll(async () => {
  await plain.stop();
  await rm(dir, { recursive: true, force: true });
});

const metricCall = (params: Params) => ({
  instances: [{ name: 'm.instance.ns', value: int(1), dimensions: { k: str('v') } }],
  adapter_config: paramsAny(params),
});

const PROMETHEUS: Params = { sink: 'prometheus', metrics: [{ instance_name: 'm.instance.ns', kind: 'COUNTER' }] };

const authorizationCall = (params: Params) => ({
  instance: { name: 'c.instance.ns', subject: { properties: { custom_token_header: str('k') } } },
  adapter_config: paramsAny(params),
});

describe('a sink this adapter has not enabled', () => {
  it('sink: prometheus without --prometheus-port: INVALID_ARGUMENT naming the flag', async () => {
    const err = await rpcError(plain.clients.metric(metricCall(PROMETHEUS)));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      'adapter_config: invalid Params: sink: "prometheus" is not enabled in this adapter: ' +
        'start it with --prometheus-port PORT (enabled here: file, stdout)',
    );
  });

  it('a plug-in name without --sink-module: INVALID_ARGUMENT naming the flag with that name', async () => {
    for (const call of [
      plain.clients.metric(metricCall({ sink: 'http-lines' })),
      plain.clients.authorization(authorizationCall({ sink: 'http-lines', auth_key: 'k' })),
    ]) {
      const err = await rpcError(call);
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe(
        'adapter_config: invalid Params: sink: expected one of file, stdout (or empty), got "http-lines" ' +
          '(for a plug-in sink of that name, start the adapter with --sink-module http-lines=MODULE)',
      );
    }
  });

  it('a name no plug-in can have: the list of sinks, and no flag to try', async () => {
    const err = await rpcError(plain.clients.metric(metricCall({ sink: 'Kafka Sink' })));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      'adapter_config: invalid Params: sink: expected one of file, stdout (or empty), got "Kafka Sink"',
    );
  });

  it('with --prometheus-port the same Params are accepted', async () => {
    const withPort = await startTestAdapter({ logLevel: 'silent', dataDir: dir, prometheusPort: 0 });
    try {
      await expect(withPort.clients.metric(metricCall(PROMETHEUS))).resolves.toBeDefined();
    } finally {
      await withPort.stop();
    }
  });
});

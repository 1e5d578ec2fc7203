// deploy/docker-compose.yaml is only run by people; this keeps it coherent:
// the Mixer image and store, loopback-only ports, the handler's address, and
// the adapter started with the compose file's own arguments (container paths
// mapped to a temp folder) accepting the sample handler's file_path.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { parseResources } from '../src/opconfig/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { int } from './helpers/values.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const COMPOSE = path.join(ROOT, 'deploy', 'docker-compose.yaml');
const SAMPLE = path.join(ROOT, 'operatorconfig', 'sample_operator_config.yaml');

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  ports?: string[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  networks?: Record<string, { aliases?: string[] }> | string[];
}

const compose = parse(readFileSync(COMPOSE, 'utf8')) as { services: Record<string, Service> };
const adapter = compose.services.adapter!;
const mixer = compose.services.mixer!;

describe('deploy/docker-compose.yaml', () => {
  it('runs Istio 1.6 Mixer on the operatorconfig/ folder as its fs:// store', () => {
    expect(mixer.image).toBe('istio/mixer:1.6.14');
    const store = mixer.volumes?.find((v) => v.target === '/etc/opt/mixer/configroot');
    expect(store).toEqual({
      type: 'bind',
      source: '../operatorconfig',
      target: '/etc/opt/mixer/configroot',
      read_only: true,
    });
    expect(mixer.command).toContain('--configStoreURL=fs:///etc/opt/mixer/configroot');
    expect(mixer.command).toContain('--address=tcp://0.0.0.0:9091');
  });

  it('builds the adapter from the repository root and publishes nothing but Mixer on loopback', () => {
    expect(adapter.build?.context).toBe('..');
    expect(existsSync(path.resolve(path.dirname(COMPOSE), adapter.build?.context ?? ''))).toBe(true);
    expect(adapter.ports).toBeUndefined();
    for (const p of mixer.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });

  it('answers the address of the sample handler', () => {
    // grpc-go's dns:/// form: Docker's DNS resolves the alias as Kubernetes' resolves the Service.
    const [host, port] = sampleHandler()
      .address.replace(/^dns:\/\/\//, '')
      .split(':');
    const networks = adapter.networks as Record<string, { aliases?: string[] }>;
    expect(Object.values(networks).flatMap((n) => n.aliases ?? [])).toContain(host);
    expect(adapter.command?.slice(0, 1)).toEqual([port]);
  });

  it("its adapter command accepts the sample handler's file_path (mounted and inside --data-dir)", async () => {
    const { filePath } = sampleHandler();
    expect(adapter.volumes?.map((v) => v.target)).toContain(path.posix.dirname(filePath));
    const options = await adapterOptionsFromArgv(adapter.command!);
    expect(options.dataDir).toBe(path.posix.dirname(filePath));

    // The same arguments on this machine: each volume target becomes a temp folder.
    const { stored, error } = await reportWith(adapter.command!, filePath);
    expect(error).toBeUndefined();
    expect(stored).toContain('HandleMetric invoked with:');
  });

  it('would refuse that file_path without --data-dir (the mistake this guards against)', async () => {
    const args = adapter.command!.filter((a, i, all) => a !== '--data-dir' && all[i - 1] !== '--data-dir');
    expect(args.length).toBe(adapter.command!.length - 2);
    const { error } = await reportWith(args, sampleHandler().filePath);
    expect(error?.details).toMatch(/outside the data dir/);
  });
});

function sampleHandler(): { address: string; filePath: string } {
  const { resources } = parseResources(SAMPLE, readFileSync(SAMPLE, 'utf8'));
  const handler = resources.find((r) => r.kind === 'handler')!;
  return {
    address: (handler.spec.connection as { address: string }).address,
    filePath: (handler.spec.params as { file_path: string }).file_path,
  };
}

let tmp: string | undefined;
let running: TestAdapter | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = undefined;
});

/**
 * Starts the adapter with the compose service's arguments, container paths
 * under each volume target moved into a temp folder, on loopback port 0, and
 * sends one report whose handler writes to `filePath` (moved the same way).
 */
async function reportWith(args: string[], filePath: string): Promise<{ stored?: string; error?: ServiceError }> {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'compose-'));
  const targets = (adapter.volumes ?? []).map((v) => v.target);
  const onHost = (p: string) => {
    const target = targets.find((t) => p === t || p.startsWith(`${t}/`));
    return target === undefined ? p : path.join(tmp!, target, p.slice(target.length));
  };
  for (const target of targets) await mkdir(onHost(target), { recursive: true });
  const options = await adapterOptionsFromArgv(args.map(onHost));
  // Outside the container the default data dir would be this checkout: make it the temp folder's instead.
  const dataDir = args.includes('--data-dir') ? options.dataDir : path.join(tmp, 'app');
  await mkdir(dataDir, { recursive: true });
  running = await startTestAdapter({ ...options, dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' });
  try {
    await running.clients.metric({
      instances: [{ name: 'i1metric.instance.istio-system', value: int(1235), dimensions: {} }],
      adapter_config: paramsAny({ file_path: onHost(filePath) }),
    });
    return { stored: await readFile(onHost(filePath), 'utf8') };
  } catch (err) {
    return { error: err as ServiceError };
  }
}

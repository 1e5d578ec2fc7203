// deploy/docker-compose.yaml is only run by people; this keeps it coherent:
// the Mixer image and store, loopback-only ports, and (once operatorconfig/
// is present) the handler's address and file_path served by the adapter.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseResources } from '../src/opconfig/load.js';

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

  it('serves the address and file_path of the sample handler', () => {
    const { resources } = parseResources(SAMPLE, readFileSync(SAMPLE, 'utf8'));
    const handler = resources.find((r) => r.kind === 'handler');
    const connection = handler?.spec.connection as { address: string };
    const [host, port] = connection.address.split(':');
    const networks = adapter.networks as Record<string, { aliases?: string[] }>;
    expect(Object.values(networks).flatMap((n) => n.aliases ?? [])).toContain(host);
    expect(adapter.command?.slice(0, 1)).toEqual([port]);
    const filePath = (handler?.spec.params as { file_path: string }).file_path;
    expect(adapter.volumes?.map((v) => v.target)).toContain(path.posix.dirname(filePath));
  });
});

// --operator-config as a serving adapter reads it: linted at start (a bad
// config refuses the start, naming file and line), re-read for changes (a
// good edit takes effect without a restart; a bad one keeps the last good
// config, logged once and counted), read through a Kubernetes ConfigMap's
// `..data` symlink swap; the Envoy services' health names and reflection.
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { runBin } from './helpers/cli.js';
import { callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { tempDir } from './helpers/opconfig.js';
import { healthCheck, listServices } from './helpers/ops-clients.js';
import { describeWith } from './helpers/peers.js';
import { waitFor } from './helpers/wait.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { LiveOperatorConfig } from '../src/opconfig/live.js';
import { DEFAULT_OPTIONS } from '../src/main.js';

let dir: string;
let t: TestAdapter | undefined;

beforeEach(async () => (dir = await tempDir('envoy-opconfig-')));
afterEach(async () => {
  await t?.stop();
  t = undefined;
  await rm(dir, { recursive: true, force: true });
});

const SAMPLE = 'sample_operator_config.yaml';

async function decisionCode(address: string, token: string): Promise<number> {
  const ref = envoyReference();
  const { response } = await callRaw(
    address,
    CHECK_PATHS.v3,
    ref.encode('envoy.service.auth.v3.CheckRequest', httpCheck({ 'x-custom-token': token })),
  );
  const answer = ref.decode('envoy.service.auth.v3.CheckResponse', response!) as { status?: { code?: number } };
  return answer.status?.code ?? 0;
}

it('refuses to start on a config with errors, naming the file and line of each', async () => {
  const { folder } = await sampleOperatorConfig(dir);
  const file = path.join(folder, SAMPLE);
  const text = (await readFile(file, 'utf8')).replaceAll('- handler: h1.istio-system', '- handler: h9.istio-system');
  await writeFile(file, text);
  const lines = text.split('\n').flatMap((l, i) => (l.includes('- handler: h9.istio-system') ? [i + 1] : []));
  expect(lines).toHaveLength(2);
  const result = await runBin(['0', '--host', '127.0.0.1', '--data-dir', dir, '--operator-config', folder]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^mygrpcadapter: --operator-config .*: 2 problem\(s\): /m);
  for (const line of lines) expect(result.stderr).toContain(`${file}:${line} `);
  expect(result.stderr).toContain('handler "h9.istio-system" not found');
});

it('reports a refused change once however often the same files are looked at', async () => {
  const { folder } = await sampleOperatorConfig(dir);
  const refused: string[][] = [];
  let loaded = 0;
  const live = await LiveOperatorConfig.load({
    paths: [folder],
    pluginSinks: [],
    dataDir: dir,
    sinkTypes: ['file', 'stdout'],
    intervalMs: 60_000,
    events: { loaded: () => loaded++, refused: (p) => refused.push(p), warned: () => undefined },
  });
  const first = live.current;
  const file = path.join(folder, SAMPLE);
  const good = await readFile(file, 'utf8');
  await writeFile(file, good.replace('kind: rule', 'kind: rule\nspec: [1'));
  for (let i = 0; i < 3; i++) await live.reload();
  expect(refused).toHaveLength(1);
  expect(refused[0]!.join('\n')).toContain(`${file}:`);
  expect(live.current).toBe(first);
  // Fixed again: taken; broken the same way again: reported again (a new edit).
  await writeFile(file, good);
  await live.reload();
  expect(live.current).toBe(first); // the same bytes as the config in use: nothing to take
  await writeFile(file, good.replace('auth_key: abc', 'auth_key: other'));
  await live.reload();
  expect(live.current).not.toBe(first);
  expect(loaded).toBe(2);
  await writeFile(file, good.replace('kind: rule', 'kind: rule\nspec: [1'));
  await live.reload();
  expect(refused).toHaveLength(2);
});

it('refuses a path that does not exist, naming the flag', async () => {
  const result = await runBin([
    '0',
    '--host',
    '127.0.0.1',
    '--data-dir',
    dir,
    '--operator-config',
    path.join(dir, 'nope'),
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/--operator-config .*nope: ENOENT/);
});

describeWith(['envoy-protos'], 'a running adapter with --operator-config', () => {
  it('takes a good edit without a restart, keeps the last good config on a bad one (logged once, counted)', async () => {
    const { folder } = await sampleOperatorConfig(dir);
    t = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [folder],
      metricsPort: 0,
      security: { ...DEFAULT_OPTIONS.security, reloadIntervalMs: 100 },
    });
    const address = t.adapter.address;
    expect(await decisionCode(address, 'abc')).toBe(0);
    const file = path.join(folder, SAMPLE);
    const good = await readFile(file, 'utf8');
    // A new key: the old one is denied from the next look on.
    await writeFile(file, good.replace('auth_key: abc', 'auth_key: xyz'));
    await waitFor(() => t!.logs().includes('operator config reloaded'), 10_000);
    expect(await decisionCode(address, 'abc')).toBe(7);
    expect(await decisionCode(address, 'xyz')).toBe(0);
    // A bad edit: refused, logged once, counted; the last good config decides.
    await writeFile(file, good.replace('auth_key: abc', 'auth_key: xyz').replace('kind: rule', 'kind: rule\nspec: [1'));
    await waitFor(() => t!.logs().includes('operator config change refused'), 10_000);
    expect(await decisionCode(address, 'xyz')).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/mygrpcadapter_operator_config_reloads_total\{outcome="error"\} 1/);
    expect(metrics).toMatch(/mygrpcadapter_operator_config_reloads_total\{outcome="ok"\} 1/);
  });

  it('reads a mounted ConfigMap through its ..data symlink and follows its swap', async () => {
    const { folder: source } = await sampleOperatorConfig(dir);
    // The kubelet's layout: key -> ..data/key, ..data -> ..<timestamp>/
    const mount = path.join(dir, 'mount');
    const v1 = path.join(mount, '..2026_12_05_00_00_00.1');
    await mkdir(v1, { recursive: true });
    for (const name of ['attributes.yaml', 'authorization.yaml', 'metric.yaml', 'mygrpcadapter.yaml', SAMPLE]) {
      await writeFile(path.join(v1, name), await readFile(path.join(source, name)));
      await symlink(path.join('..data', name), path.join(mount, name));
    }
    await symlink(path.basename(v1), path.join(mount, '..data'));
    t = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [mount],
      security: { ...DEFAULT_OPTIONS.security, reloadIntervalMs: 100 },
    });
    expect(t.logs()).toMatch(/"files":5[,}].*operator config loaded/);
    expect(await decisionCode(t.adapter.address, 'abc')).toBe(0);
    // An update: a new timestamped folder, then ..data swapped to it in one rename.
    const v2 = path.join(mount, '..2026_12_05_00_01_00.2');
    await mkdir(v2);
    for (const name of ['attributes.yaml', 'authorization.yaml', 'metric.yaml', 'mygrpcadapter.yaml', SAMPLE]) {
      const text = await readFile(path.join(v1, name), 'utf8');
      await writeFile(path.join(v2, name), text.replace('auth_key: abc', 'auth_key: rotated'));
    }
    await symlink(path.basename(v2), path.join(mount, '..data_tmp'));
    await rename(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    await rm(v1, { recursive: true });
    await waitFor(() => t!.logs().includes('operator config reloaded'), 10_000);
    expect(await decisionCode(t.adapter.address, 'rotated')).toBe(0);
    expect(await decisionCode(t.adapter.address, 'abc')).toBe(7);
  });

  it('answers health for each Envoy service and lists them through reflection', async () => {
    const { folder } = await sampleOperatorConfig(dir);
    t = await startTestAdapter({ dataDir: dir, operatorConfig: [folder] });
    const address = t.adapter.address;
    for (const service of ['envoy.service.auth.v3.Authorization', 'envoy.service.accesslog.v3.AccessLogService']) {
      expect(await healthCheck(address, service)).toBe('SERVING');
    }
    expect(await listServices(address)).toEqual(
      expect.arrayContaining([
        'envoy.service.auth.v3.Authorization',
        'envoy.service.auth.v2.Authorization',
        'envoy.service.auth.v2alpha.Authorization',
        'metric.HandleMetricService',
      ]),
    );
  });
});

// Keys from mounted Secrets (--keys-dir, Params key_set): read and re-read
// without a restart, bad files refused by name (never by content) while the
// rest of the set works, the matched key's id in records and metrics, a
// missing set denying with a clear reason and showing in health, and a
// rotation under load with no denied request.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { KeySets, MAX_KEY_FILE_BYTES } from '../src/security/key-sets.js';
import { digestSecret } from '../src/security/secret-digest.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { tempDir } from './helpers/opconfig.js';
import { healthCheck } from './helpers/ops-clients.js';
import { str } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';
import { callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { describeWith } from './helpers/peers.js';

/** A Secret as the kubelet mounts it: key -> ..data/key, ..data -> ..<version>/, swapped in one rename. */
class MountedSecret {
  private version = 0;
  constructor(readonly dir: string) {}

  async write(keys: Record<string, string>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const version = `..2026_12_05_v${++this.version}`;
    await mkdir(path.join(this.dir, version));
    for (const [id, key] of Object.entries(keys)) await writeFile(path.join(this.dir, version, id), key);
    await symlink(version, path.join(this.dir, '..data_tmp'));
    await rename(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    // The visible names: links through ..data (stale ones removed, as the kubelet does).
    for (const id of Object.keys(keys)) {
      await symlink(path.join('..data', id), path.join(this.dir, id)).catch(() => undefined);
    }
    const { readdir } = await import('node:fs/promises');
    for (const name of await readdir(this.dir)) {
      if (!name.startsWith('.') && !(name in keys)) await rm(path.join(this.dir, name));
      if (name.startsWith('..2026') && name !== version) await rm(path.join(this.dir, name), { recursive: true });
    }
  }
}

describe('KeySets', () => {
  let dir: string;
  beforeEach(async () => (dir = await tempDir('keysets-')));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads keys and sha256 digests by file name, refuses bad files by name, once, and keeps the rest', async () => {
    const set = path.join(dir, 'clients');
    await mkdir(set);
    await writeFile(path.join(set, 'alice'), 'alice-key');
    await writeFile(path.join(set, 'bob'), `sha256:${createHash('sha256').update('bob-key').digest('hex')}`);
    await writeFile(path.join(set, 'empty'), '');
    await writeFile(path.join(set, 'newline'), 'carol-key\n');
    await writeFile(path.join(set, 'huge'), 'x'.repeat(MAX_KEY_FILE_BYTES + 1));
    await writeFile(path.join(set, '.hidden'), 'not-a-key');
    const refused: string[] = [];
    const keySets = await KeySets.open(dir, 60_000, {
      refused: (file, why) => refused.push(`${file}: ${why}`),
      loaded: () => undefined,
    });
    const ids = keySets.get('clients')!.ids;
    expect(ids.get(digestSecret('alice-key'))).toBe('alice');
    expect(ids.get(digestSecret('bob-key'))).toBe('bob');
    expect(ids.size).toBe(2);
    expect(refused.map((r) => path.basename(r.split(':')[0]!)).sort()).toEqual(['empty', 'huge', 'newline']);
    expect(refused.join('\n')).not.toContain('carol-key');
    await keySets.reload();
    await keySets.reload();
    expect(refused).toHaveLength(3);
    keySets.close();
  });

  it('holds thousands of keys, each found by its digest', async () => {
    const set = path.join(dir, 'many');
    await mkdir(set);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => writeFile(path.join(set, `k${i}`), `key-${i}`)));
    const keySets = await KeySets.open(dir, 60_000, { refused: () => undefined, loaded: () => undefined });
    const ids = keySets.get('many')!.ids;
    expect(ids.size).toBe(3000);
    for (const i of [0, 1234, 2999]) expect(ids.get(digestSecret(`key-${i}`))).toBe(`k${i}`);
    keySets.close();
  });

  it('follows a mounted Secret through its ..data swap', async () => {
    const secret = new MountedSecret(path.join(dir, 'clients'));
    await secret.write({ alice: 'a1' });
    const keySets = await KeySets.open(dir, 60_000, { refused: () => undefined, loaded: () => undefined });
    expect([...keySets.get('clients')!.ids.values()]).toEqual(['alice']);
    await secret.write({ alice: 'a2', bob: 'b1' });
    await keySets.reload();
    const ids = keySets.get('clients')!.ids;
    expect(ids.get(digestSecret('a2'))).toBe('alice');
    expect(ids.get(digestSecret('a1'))).toBeUndefined();
    expect(ids.get(digestSecret('b1'))).toBe('bob');
    keySets.close();
  });
});

describe('a handler with a key_set', () => {
  let dir: string;
  let keysDir: string;
  let t: TestAdapter;
  beforeAll(async () => {
    dir = await tempDir('keysets-adapter-');
    keysDir = path.join(dir, 'keys');
    await mkdir(keysDir);
    t = await startTestAdapter({
      dataDir: dir,
      keysDir,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      security: { ...DEFAULT_OPTIONS.security, reloadIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (token: string, keySet: string, file = 'k.txt') =>
    t.clients.authorization({
      instance: { name: 'icheck.instance.istio-system', subject: { properties: { custom_token_header: str(token) } } },
      adapter_config: paramsAny({ file_path: file, key_set: keySet }),
    });
  const code = async (token: string, keySet: string) => (await check(token, keySet)).status?.code ?? 0;

  it('denies while its set is missing, says why, and shows it in health until keys arrive', async () => {
    expect(await code('anything', 'team-a')).toBe(7);
    const address = t.adapter.address;
    expect(await healthCheck(address, 'authorization.HandleAuthorizationService')).toBe('NOT_SERVING');
    expect(await healthCheck(address, '')).toBe('SERVING');
    expect(await readFile(path.join(dir, 'k.txt'), 'utf8')).toContain(
      "reason: the handler's key_set has no usable key",
    );
    await new MountedSecret(path.join(keysDir, 'team-a')).write({ alice: 'alice-key' });
    await waitFor(() => t.logs().includes('"team-a":1'), 10_000);
    expect(await code('alice-key', 'team-a')).toBe(0);
    expect(await healthCheck(address, 'authorization.HandleAuthorizationService')).toBe('SERVING');
  });

  it("records and counts the matched key's id, never the key; an unknown key is its own reason", async () => {
    const secret = new MountedSecret(path.join(keysDir, 'team-b'));
    await secret.write({ bob: 'bob-key', carol: 'carol-key' });
    await waitFor(() => t.logs().includes('"team-b":2'), 10_000);
    expect(await code('carol-key', 'team-b')).toBe(0);
    expect(await code('mallory', 'team-b')).toBe(7);
    const text = await readFile(path.join(dir, 'k.txt'), 'utf8');
    expect(text).toContain('Result: OK, key: carol,');
    expect(text).toContain("reason: the custom_token_header token matches no key of the handler's key_set or auth_key");
    const metrics = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /decisions_total\{[^}]*decision="allow",reason="token_matches",frontend="mixer",key="carol"\} 1/,
    );
    expect(metrics).toMatch(/decisions_total\{[^}]*decision="deny",reason="unknown_key",frontend="mixer",key=""\} 1/);
    for (const secretText of ['bob-key', 'carol-key', 'mallory']) {
      expect(text + t.logs() + metrics).not.toContain(secretText);
    }
  });

  it('rotates a key under load with no denied request: add the new key, move clients, remove the old one', async () => {
    const secret = new MountedSecret(path.join(keysDir, 'rotating'));
    await secret.write({ v1: 'old-key' });
    await waitFor(() => t.logs().includes('"rotating":1'), 10_000);
    let key = 'old-key';
    let stop = false;
    const outcomes = { allowed: 0, denied: 0 };
    const client = async (): Promise<void> => {
      while (!stop) {
        if ((await code(key, 'rotating')) === 0) outcomes.allowed++;
        else outcomes.denied++;
      }
    };
    const clients = Array.from({ length: 4 }, () => client());
    await waitFor(() => outcomes.allowed > 200, 10_000);
    await secret.write({ v1: 'old-key', v2: 'new-key' });
    await waitFor(() => t.logs().includes('"rotating":2'), 10_000);
    key = 'new-key';
    const moved = outcomes.allowed;
    await waitFor(() => outcomes.allowed > moved + 200, 10_000);
    await secret.write({ v2: 'new-key' });
    const logged = t.logs().split('"rotating":1').length;
    await waitFor(() => t.logs().split('"rotating":1').length > logged, 10_000);
    const removed = outcomes.allowed;
    await waitFor(() => outcomes.allowed > removed + 200, 10_000);
    stop = true;
    await Promise.all(clients);
    expect(outcomes.denied).toBe(0);
    // The old key is gone.
    expect(await code('old-key', 'rotating')).toBe(7);
  });

  it('keeps answering through rapid key-file churn: a stable key always in, a changing one never stale', async () => {
    const set = path.join(keysDir, 'churn');
    await mkdir(set);
    await writeFile(path.join(set, 'stable'), 'stable-key');
    await waitFor(() => t.logs().includes('"churn":1'), 10_000);
    let stop = false;
    let denied = 0;
    const loop = (async () => {
      while (!stop) if ((await code('stable-key', 'churn')) !== 0) denied++;
    })();
    for (let i = 0; i < 200; i++) {
      await writeFile(path.join(set, 'moving'), `moving-${i}`);
      if (i % 3 === 0) await rm(path.join(set, 'moving'));
    }
    await writeFile(path.join(set, 'moving'), 'moving-final');
    // Each look at the folder is one consistent read; the last write wins on the next one.
    const deadline = Date.now() + 10_000;
    while ((await code('moving-final', 'churn')) !== 0) expect(Date.now()).toBeLessThan(deadline);
    stop = true;
    await loop;
    expect(denied).toBe(0);
    expect(await code('moving-5', 'churn')).toBe(7);
  });

  it('denies a token with control characters as malformed and a huge token as unknown, without failing', async () => {
    await new MountedSecret(path.join(keysDir, 'odd')).write({ k: 'k' });
    await waitFor(() => t.logs().includes('"odd":1'), 10_000);
    expect(await code('k\u0000', 'odd')).toBe(7);
    expect(await code('x'.repeat(1024 * 1024), 'odd')).toBe(7);
    const text = await readFile(path.join(dir, 'k.txt'), 'utf8');
    expect(text).toContain('reason: subject property custom_token_header holds control characters');
  });
});

describeWith(['envoy-protos'], 'key sets and audit mode through the ext_authz front-end', () => {
  let dir: string;
  let t: TestAdapter;
  let sample: { folder: string; out: string };
  beforeAll(async () => {
    dir = await tempDir('keysets-envoy-');
    sample = await sampleOperatorConfig(dir);
    const file = path.join(sample.folder, 'sample_operator_config.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('auth_key: abc', 'key_set: clients\n    key_id_header: x-key-id'),
    );
    await new MountedSecret(path.join(dir, 'keys', 'clients')).write({ 'team-a': 'envoy-key' });
    t = await startTestAdapter({
      dataDir: dir,
      keysDir: path.join(dir, 'keys'),
      operatorConfig: [sample.folder],
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      security: { ...DEFAULT_OPTIONS.security, reloadIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function envoyAnswer(token: string) {
    const ref = envoyReference();
    const { response } = await callRaw(
      t.adapter.address,
      CHECK_PATHS.v3,
      ref.encode('envoy.service.auth.v3.CheckRequest', httpCheck({ 'x-custom-token': token })),
    );
    return ref.decode('envoy.service.auth.v3.CheckResponse', response!) as {
      status?: { code?: number };
      ok_response?: unknown;
    };
  }
  const envoyCode = async (token: string) => (await envoyAnswer(token)).status?.code ?? 0;

  it("sends the matched key's id upstream in key_id_header", async () => {
    expect((await envoyAnswer('envoy-key')).ok_response).toEqual({
      headers: [{ header: { key: 'x-key-id', value: 'team-a' } }],
    });
  });

  it('lets a key-set key in with its id counted under frontend="envoy", and audits before enforcing', async () => {
    expect(await envoyCode('envoy-key')).toBe(0);
    expect(await envoyCode('other')).toBe(7);
    const metrics = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /decisions_total\{[^}]*decision="allow",reason="token_matches",frontend="envoy",key="team-a"\} [1-9]/,
    );
    expect(await readFile(sample.out, 'utf8')).toContain('Result: OK, key: team-a,');
    // The same rule in audit mode: the unknown key goes through, recorded as a would-be denial.
    const file = path.join(sample.folder, 'sample_operator_config.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('key_set: clients', 'key_set: clients\n    mode: audit'),
    );
    await waitFor(() => t.logs().includes('operator config reloaded'), 10_000);
    expect(await envoyCode('other')).toBe(0);
    expect(await readFile(sample.out, 'utf8')).toMatch(/audit: would be PERMISSION_DENIED/);
    // Let in by audit, not by a key: no id to carry, and a client's own x-key-id is removed.
    expect((await envoyAnswer('other')).ok_response).toEqual({ headers_to_remove: ['x-key-id'] });
  });
});

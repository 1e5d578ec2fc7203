// The stand-in run where the operator config's addresses do not resolve (a
// developer's machine, config written for the cluster): after mixc's output,
// one stderr line says what to put on the command line, and what it says works.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAdapter } from '../src/main.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { BIN, ROOT, type CliResult } from './helpers/cli.js';
import { startDnsServer, type DnsServer } from './helpers/dns-server.js';
import { tempDir, writeOpConfig } from './helpers/opconfig.js';

const HEADLESS = 'mygrpcadapter-headless.istio-system.svc.cluster.local';

let work: string;
let adapter: RunningAdapter;
let dns: DnsServer;
beforeAll(async () => {
  work = await tempDir('mixer-hints-');
  adapter = await startQuietAdapter(work);
  // Answers every question with no address: the cluster's names do not resolve here.
  dns = await startDnsServer('nothing.example', []);
});
afterAll(async () => {
  await adapter.stop();
  await dns.close();
  await rm(work, { recursive: true, force: true });
});

/** The built CLI; a lookup of the cluster's names through the system resolver gives up within a second or two. */
function mixer(args: string[], cwd = ROOT, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'mixer', ...args],
      { cwd, timeout: 30_000, env: { ...process.env, RES_OPTIONS: 'timeout:1 attempts:1', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** The stderr line the stand-in adds, or undefined. */
const hintLine = (stderr: string): string | undefined =>
  stderr.split('\n').find((l) => l.startsWith('mygrpcadapter mixer: '));

describe('without --config (the package operatorconfig/, written for the cluster)', () => {
  it('mixc output as before, then one line naming the local config and --address', { timeout: 60_000 }, async () => {
    for (const method of ['report', 'check']) {
      const r = await mixer([method, '-s', 'destination.service=svc.cluster.local']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`Name resolution failed for target dns:///${HEADLESS}:8000`);
      expect(r.stderr).toBe(
        'mygrpcadapter mixer: without --config this reads operatorconfig/, whose handlers dial in-cluster names; ' +
          'for an adapter on this machine use --config operatorconfig/attributes.yaml operatorconfig/mygrpcadapter.yaml ' +
          "examples/local/ --address 127.0.0.1:8000 (your adapter's host:port)\n",
      );
    }
  });

  it('the suggested flags, with this adapter as --address, get through', { timeout: 60_000 }, async () => {
    const r = await mixer(['report', '-s', 'destination.service=svc.cluster.local', '-i', 'request.size=5']);
    const suggested = /use (--config .*) --address 127\.0\.0\.1:8000 /.exec(hintLine(r.stderr) ?? '');
    expect(suggested, r.stderr).not.toBeNull();
    const flags = suggested![1]!.split(' ');
    const ok = await mixer(['report', ...flags, '--address', adapter.address, '-i', 'request.size=5']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toBe('Report RPC returned OK\n');
    expect(await readFile(path.join(work, 'out.txt'), 'utf8')).toContain('Value = 5\n');
  });

  it('run from another folder, the paths it suggests are absolute and exist', { timeout: 60_000 }, async () => {
    const elsewhere = await tempDir('cwd-', work);
    const r = await mixer(['check'], elsewhere);
    expect(r.code).toBe(1);
    const m = /reads (\S+), .* use --config (\S+) (\S+) (\S+) --address 127\.0\.0\.1:8000 /.exec(
      hintLine(r.stderr) ?? '',
    );
    expect(m, r.stderr).not.toBeNull();
    expect(m!.slice(1)).toEqual([
      `${path.join(ROOT, 'operatorconfig')}/`,
      path.join(ROOT, 'operatorconfig', 'attributes.yaml'),
      path.join(ROOT, 'operatorconfig', 'mygrpcadapter.yaml'),
      `${path.join(ROOT, 'examples', 'local')}/`,
    ]);
    for (const p of m!.slice(1)) expect(existsSync(p), p).toBe(true);
  });

  it(
    'with --address, the adapter answers; the Prometheus handler names --prometheus-port',
    { timeout: 60_000 },
    async () => {
      const r = await mixer(['report', '--address', adapter.address, '-s', 'destination.service=svc.cluster.local']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        'sink: "prometheus" is not enabled in this adapter: start it with --prometheus-port PORT (enabled here: file, stdout)',
      );
      // The in-cluster handler's /volume/out.txt, outside this adapter's data dir.
      expect(r.stdout).toContain("records may only go inside it (set it with the adapter's --data-dir DIR)");
      // Every call reached the adapter: nothing to say about addresses.
      expect(hintLine(r.stderr)).toBeUndefined();
    },
  );
});

describe('with --config whose handler dials a name that does not resolve here', () => {
  /** The metric fixture, its handler dialling the cluster's name through the test's DNS server. */
  async function clusterConfig(): Promise<{ dir: string; address: string }> {
    const dir = await tempDir('config-', work);
    const address = `dns://127.0.0.1:${dns.port}/${HEADLESS}:8000`;
    await writeOpConfig('metric', { address, filePath: 'cluster.txt' }, dir);
    return { dir, address };
  }
  // grpc-js asks a DNS server named in the target only with its alternative (c-ares) resolver.
  const viaTestDns = { GRPC_NODE_USE_ALTERNATIVE_RESOLVER: 'true' };

  it('names the handler, its address and --address', async () => {
    const { dir, address } = await clusterConfig();
    const r = await mixer(['report', '--config', dir, '-i', 'request.size=1'], ROOT, viaTestDns);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Name resolution failed');
    expect(r.stderr).toBe(
      `mygrpcadapter mixer: handler h1.handler.istio-system dials ${address}, a name that does not resolve here; ` +
        "for an adapter on this machine add --address 127.0.0.1:8000 (your adapter's host:port)\n",
    );
    expect(dns.questions).toContain(`A ${HEADLESS}`);
  });

  it('--address as it says: OK and no hint', async () => {
    const { dir } = await clusterConfig();
    const r = await mixer(
      ['report', '--config', dir, '--address', adapter.address, '-i', 'request.size=1'],
      ROOT,
      viaTestDns,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('Report RPC returned OK\n');
  });

  it('a handler that resolves but has nothing listening gets no address hint', async () => {
    const dir = await tempDir('config-', work);
    await writeOpConfig('metric', { address: '127.0.0.1:1', filePath: 'x.txt' }, dir);
    const r = await mixer(['report', '--config', dir, '-i', 'request.size=1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('code = Unavailable');
    expect(hintLine(r.stderr)).toBeUndefined();
  });
});

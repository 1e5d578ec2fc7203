// One Mixer's load reaches every replica: two adapter processes on the same
// port of 127.0.0.1 and 127.0.0.2 stand for two pods behind the headless
// Service, a DNS server of the test's own answers the Service's name with
// both, and realmixer (Mixer 1.6.14's own dial and dispatch code) runs the
// sample handler with its dns:/// address, only pointed at that DNS server
// (grpc-go's dns://DNS_SERVER/name:port form). Both adapters must receive
// calls, within 25 % of each other.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCli, ROOT, type CliProcess } from './helpers/cli.js';
import { startDnsServer, type DnsServer } from './helpers/dns-server.js';
import { describeWith } from './helpers/peers.js';
import { realmixer as findRealmixer } from './helpers/shared.js';

const run = promisify(execFile);
// Enough calls that the first few, sent while only one connection is READY
// yet (round_robin uses READY ones), do not tip the balance on a busy machine.
const CALLS = 1000;
const PASSTHROUGH_CALLS = 50;
const SAMPLE = path.join(ROOT, 'operatorconfig', 'sample_operator_config.yaml');
const HOSTS = ['127.0.0.1', '127.0.0.2'];

let realmixer: string;
let tmp: string;
let dns: DnsServer | undefined;
const adapters: CliProcess[] = [];

/** A port free on loopback now (both adapters bind it, each on its own address). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describeWith(['realmixer'], 'spreading one Mixer over the replicas', () => {
  beforeAll(async () => {
    realmixer = await findRealmixer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'spread-'));
  }, 300_000);

  afterAll(async () => {
    for (const a of adapters) if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await Promise.all(adapters.map((a) => a.exited));
    await dns?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("the sample handler's dns:/// address reaches both adapters behind one name, evenly", async () => {
    const sample = await readFile(SAMPLE, 'utf8');
    const m = /address: dns:\/\/\/([^:\s]+):(\d+)/.exec(sample);
    expect(m, 'the sample handler dials a dns:/// address').not.toBeNull();
    const name = m![1]!;
    dns = await startDnsServer(name, HOSTS);

    const port = await freePort();
    for (const [i, host] of HOSTS.entries()) {
      const dataDir = path.join(tmp, `pod${i}`);
      await mkdir(dataDir);
      adapters.push(await startCli([String(port), '--host', host, '--data-dir', dataDir, '--log-level', 'warn']));
    }
    expect(adapters.map((a) => a.address)).toEqual(HOSTS.map((h) => `${h}:${port}`));

    // The sample, pointed at the test's DNS server and port; file_path relative to each adapter's data dir.
    const config = path.join(tmp, 'config');
    await mkdir(config);
    await writeFile(
      path.join(config, 'sample.yaml'),
      sample
        .replace(m![0], `address: dns://127.0.0.1:${dns.port}/${name}:${port}`)
        .replace('file_path: /volume/out.txt', 'file_path: out.txt'),
    );
    const configs = ['attributes.yaml', 'metric.yaml', 'authorization.yaml', 'mygrpcadapter.yaml'].flatMap((f) => [
      '--config',
      path.join(ROOT, 'operatorconfig', f),
    ]);
    const report = async (calls: number, ...extra: string[]) => {
      const { stdout } = await run(
        realmixer,
        [
          'report',
          ...configs,
          '--config',
          config,
          '-s',
          'destination.service=svc.cluster.local',
          '-i',
          'request.size=1235',
          '-r',
          String(calls),
          '-q',
          '--max-time',
          '90s',
          ...extra,
        ],
        { timeout: 120_000 },
      );
      expect(stdout.match(/Report RPC returned OK/g)?.length).toBe(calls);
    };
    const received = () =>
      Promise.all(
        HOSTS.map(async (_, i) => {
          const out = await readFile(path.join(tmp, `pod${i}`, 'out.txt'), 'utf8').catch(() => '');
          return out.match(/HandleMetric invoked with:/g)?.length ?? 0;
        }),
      );

    // Without the dns scheme (grpc-go's passthrough, as through a ClusterIP): one connection, one pod.
    await report(PASSTHROUGH_CALLS, '--address', `${HOSTS[0]}:${port}`);
    expect(await received()).toEqual([PASSTHROUGH_CALLS, 0]);

    await report(CALLS);
    expect(dns.questions).toContain(`A ${name}`);
    for (const a of adapters) a.child.kill('SIGTERM');
    expect(await Promise.all(adapters.map((a) => a.exited))).toEqual([0, 0]);
    const [first, second] = (await received()).map((n, i) => n - (i === 0 ? PASSTHROUGH_CALLS : 0));
    expect(first! + second!).toBe(CALLS);
    expect(
      Math.min(first!, second!) / Math.max(first!, second!),
      `calls per adapter: ${first}, ${second}`,
    ).toBeGreaterThanOrEqual(0.75);
  }, 180_000);
});

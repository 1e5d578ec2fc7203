// Floods of access-log streams and messages against the built adapter run as
// the Deployment runs it (the image's Node.js, npm start's node flags, a
// 256 MiB memory limit), from raw HTTP/2 clients that send as fast as flow
// control lets them: every stream is answered (OK, or RESOURCE_EXHAUSTED when
// the shared budget is full), every entry received is written or counted as
// not written, a new stream is served afterwards, and the adapter's peak RSS
// (/proc VmHWM) stays inside the limit.
import http2 from 'node:http2';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CliProcess } from './helpers/cli.js';
import { httpEntry, IDENTIFIER, logsMessage } from './helpers/als-client.js';
import { MiB, peakRssBytes, rssBytes } from './helpers/child-memory.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from './helpers/deployment.js';
import { ALS_PATHS } from './helpers/envoy-reference.js';
import { estimateOf, loadOperatorConfig, sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { describeWith } from './helpers/peers.js';
import { sample, scrape } from './helpers/scrape.js';
import { waitFor } from './helpers/wait.js';
import { grpcMessage, rawGrpcStream } from './helpers/wire.js';

describeWith(['envoy-protos'], 'access-log floods against the adapter run as the Deployment runs it', () => {
  let dir: string;
  let out: string;
  let folder: string;
  let adapter: CliProcess;
  let metricsPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'als-bounds-'));
    const sampleConfig = await sampleOperatorConfig(dir);
    out = sampleConfig.out;
    folder = sampleConfig.folder;
    adapter = await startAsDeployment([
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'info',
      '--data-dir',
      dir,
      '--operator-config',
      sampleConfig.folder,
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
    ]);
    await waitFor(() => /"port":(\d+),"msg":"serving Prometheus metrics/.test(adapter.stderr()), 10_000);
    metricsPort = Number(/"port":(\d+),"msg":"serving Prometheus metrics/.exec(adapter.stderr())![1]);
  }, 60_000);

  afterAll(async () => {
    adapter?.child.kill('SIGTERM');
    await adapter?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  function session(): Promise<http2.ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const s = http2.connect(`http://${adapter.address}`);
      s.on('error', () => undefined);
      s.once('remoteSettings', () => resolve(s));
      s.once('error', reject);
    });
  }

  /** One stream that sends `frames` one after the other (each once HTTP/2 took the one before), then ends; its grpc-status. */
  function stream(s: http2.ClientHttp2Session, frames: Buffer[]): Promise<number> {
    return new Promise((resolve) => {
      const call = rawGrpcStream(s, ALS_PATHS.v3);
      let code = -1;
      call.on('response', (h) => {
        if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']);
      });
      call.on('trailers', (h) => (code = Number(h['grpc-status'])));
      call.on('close', () => resolve(code));
      call.resume();
      let i = 0;
      const next = (): void => {
        if (call.closed || call.destroyed) return;
        if (i === frames.length) call.end();
        else call.write(frames[i++], next);
      };
      next();
    });
  }

  async function counts(): Promise<{ received: number; written: number; notWritten: number }> {
    const page = await scrape(metricsPort);
    const n = (outcome: string) => sample(page, 'mygrpcadapter_access_log_entries_total', { outcome });
    return { received: n('received'), written: n('written'), notWritten: n('not_written') };
  }

  async function report(what: string): Promise<number> {
    const peak = await peakRssBytes(adapter.child.pid!);
    const now = await rssBytes(adapter.child.pid!);
    console.log(`als-bounds ${what}: adapter RSS ${(now / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB`);
    return peak;
  }

  /** `streams` streams spread over `connections` connections, each sending `frames`; the statuses, counted. */
  async function flood(connections: number, streams: number, frames: Buffer[]): Promise<Map<number, number>> {
    const sessions = await Promise.all(Array.from({ length: connections }, session));
    try {
      const codes = await Promise.all(
        Array.from({ length: streams }, (_, i) => stream(sessions[i % connections]!, frames)),
      );
      const tally = new Map<number, number>();
      for (const c of codes) tally.set(c, (tally.get(c) ?? 0) + 1);
      return tally;
    } finally {
      for (const s of sessions) s.destroy();
    }
  }

  const entries = (n: number) => Array.from({ length: n }, (_, i) => httpEntry(200 + (i % 300), i));

  it('1024 streams over 8 connections, each sending 8 Envoy-size messages (40 entries, 8 KiB) as fast as it may', async () => {
    const first = grpcMessage(logsMessage({ identifier: IDENTIFIER, http: entries(40) }));
    const next = grpcMessage(logsMessage({ http: entries(40) }));
    const frames = [first, ...Array.from({ length: 7 }, () => next)];
    const before = await counts();
    const started = performance.now();
    const tally = await flood(8, 1024, frames);
    const seconds = (performance.now() - started) / 1000;
    const after = await counts();
    const received = after.received - before.received;
    const written = after.written - before.written;
    console.log(
      `als-bounds: statuses ${JSON.stringify(Object.fromEntries(tally))}, ${written} of ${received} entries written in ${seconds.toFixed(1)} s, ` +
        `out.txt ${((await stat(out)).size / MiB).toFixed(0)} MiB`,
    );
    // OK, or RESOURCE_EXHAUSTED from the shared budget: nothing else, no stream left unanswered.
    expect([...tally.keys()].every((c) => c === 0 || c === 8)).toBe(true);
    expect(tally.get(0) ?? 0).toBeGreaterThan(0);
    expect(received).toBe(written + after.notWritten - before.notWritten);
    expect(adapter.child.exitCode).toBeNull();
    expect(await report('1024 streams x 8 messages')).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 240_000);

  it('48 streams over 4 connections, each sending three messages of 1300 entries (just under the per-message bound)', async () => {
    const message = logsMessage({ identifier: IDENTIFIER, http: entries(1300) });
    // The default bound at 256 Mi: a quarter of --max-decode-bytes (32 MiB).
    const { estimate } = estimateOf(await loadOperatorConfig(folder, dir), message);
    expect(estimate).toBeGreaterThan(0.8 * 8 * MiB);
    expect(estimate).toBeLessThanOrEqual(8 * MiB);
    const big = grpcMessage(message);
    const before = await counts();
    const tally = await flood(4, 48, [big, big, big]);
    const after = await counts();
    console.log(`als-bounds: statuses ${JSON.stringify(Object.fromEntries(tally))} (-1: reset by the stream guard)`);
    // OK; RESOURCE_EXHAUSTED from the shared budget; or reset while 25 MB arrive at once
    // (the guard's bound on bytes still arriving). Every entry taken is written or counted.
    expect([...tally.keys()].every((c) => c === 0 || c === 8 || c === -1)).toBe(true);
    expect(tally.get(0) ?? 0).toBeGreaterThan(0);
    expect(after.received - before.received).toBe(
      after.written - before.written + after.notWritten - before.notWritten,
    );
    expect(adapter.child.exitCode).toBeNull();
    expect(await report('48 streams x 3 messages of 1300 entries')).toBeLessThan(DEPLOYMENT_LIMIT);
  }, 240_000);

  it('serves a new stream afterwards, its entries written', async () => {
    const before = await counts();
    const s = await session();
    try {
      expect(await stream(s, [grpcMessage(logsMessage({ identifier: IDENTIFIER, http: entries(3) }))])).toBe(0);
    } finally {
      s.destroy();
    }
    const after = await counts();
    expect(after.written - before.written).toBe(3);
  });
});

// Broken destinations, over a real loopback connection: a disk that fills
// (a small tmpfs), a file or folder deleted under the adapter, two formats on
// one file, FIFOs and sockets as file_path, sinks that stall, and checks that
// keep answering while their records cannot be kept.
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemorySink, memorySinkControl } from '../src/sinks/memory.js';
import { startCli, type CliProcess } from './helpers/cli.js';
import { connect, paramsAny, type ParamsFields } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { healthCheck } from './helpers/ops-clients.js';
import { describeWith } from './helpers/peers.js';
import { str } from './helpers/values.js';
import { rpcError, waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const METRIC_SERVICE = 'metric.HandleMetricService';
const AUTHORIZATION_SERVICE = 'authorization.HandleAuthorizationService';

let adapters: TestAdapter[] = [];
afterEach(async () => {
  await Promise.all(adapters.map((a) => a.stop()));
  adapters = [];
});

async function adapterOn(options: Parameters<typeof startTestAdapter>[0], extra = {}): Promise<TestAdapter> {
  const t = await startTestAdapter(options, extra);
  adapters.push(t);
  return t;
}

/** A report with one instance per name; `pad` makes each record that much longer. */
function report(t: TestAdapter, params: ParamsFields, names: string[], pad = 0) {
  return t.clients.metric({
    instances: names.map((name) => ({ name, value: str('v'), dimensions: { pad: str('p'.repeat(pad)) } })),
    adapter_config: paramsAny(params),
  });
}

function check(t: TestAdapter, params: ParamsFields, token: string) {
  return t.clients.authorization({
    instance: { name: 'auth', subject: { properties: { custom_token_header: str(token) } } },
    adapter_config: paramsAny(params),
  });
}

/** Instance names of a JSON-lines file; fails the test on any line that is not a whole record. */
async function jsonInstances(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { instance: string }).instance);
}

async function metricValue(t: TestAdapter, name: string, labels: Record<string, string> = {}): Promise<number> {
  const json = await t.adapter.metrics!.registry.getSingleMetric(`mygrpcadapter_${name}`)!.get();
  const found = json.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return found?.value ?? 0;
}

const address = (t: TestAdapter) => `127.0.0.1:${t.adapter.port}`;

// Mounting needs root.
describeWith(['root'], 'a disk that fills up (tmpfs)', () => {
  let root: string | undefined;
  let mnt: string;
  let filler: string;
  let mounted = false;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'disk-full-'));
    mnt = path.join(root, 'mnt');
    filler = path.join(mnt, 'filler');
    await mkdir(mnt);
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    mounted = true;
  });

  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.stop()));
    adapters = [];
    if (mounted) await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    if (root) await rm(root, { recursive: true, force: true });
  });

  afterEach(() => rm(filler, { force: true }));

  /** Writes `filler` until the file system refuses more. */
  function fillDisk(): void {
    const fd = openSync(filler, 'a');
    const block = Buffer.alloc(16 * 1024, 0x2e);
    try {
      for (;;) writeSync(fd, block);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
  }

  it('leaves no torn record: a failed write is cut off, and the next record starts on its own line', async () => {
    const t = await adapterOn({ dataDir: mnt, format: 'json' });
    const params = { file_path: 'metrics.jsonl' };
    await report(t, params, ['first']);
    const before = (await stat(path.join(mnt, 'metrics.jsonl'))).size;
    fillDisk();
    // About 10 KB: more than the free part of the file's last page, so the
    // kernel takes a prefix before it runs out of room.
    const err = await rpcError(report(t, params, ['big1', 'big2', 'big3'], 3500));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/ENOSPC|no space/i);
    expect((await stat(path.join(mnt, 'metrics.jsonl'))).size).toBe(before);
    await rm(filler);
    await report(t, params, ['after']);
    expect(await jsonInstances(path.join(mnt, 'metrics.jsonl'))).toEqual(['first', 'after']);
  });

  it('answers checks on their decision while the decision record cannot be written, counts and logs the loss', async () => {
    const t = await adapterOn({ dataDir: mnt, format: 'json', metricsPort: 0, metricsHost: '127.0.0.1' });
    const params = { file_path: 'checks.jsonl', auth_key: 'k3y' };
    // Filled first: a record that fits in the file's last page would still go in.
    fillDisk();
    for (let i = 0; i < 3; i++) {
      const allowed = await check(t, params, 'k3y');
      expect(allowed.status?.code).toBe(0);
      const denied = await check(t, params, 'wrong');
      expect(denied.status?.code).toBe(7);
    }
    expect(await metricValue(t, 'decision_records_lost_total', { code: 'UNAVAILABLE' })).toBeGreaterThanOrEqual(5);
    // One line at once; the repeats are summed into one line later (rate-limited).
    const lostLines = t
      .logs()
      .split('\n')
      .filter((l) => l.includes('decision record not written'));
    expect(lostLines).toHaveLength(1);
    expect(lostLines[0]).toContain('ENOSPC');
    expect(lostLines[0]).not.toContain('k3y');
    // Health: reports cannot be written, checks are still answered, the process is fine.
    expect(await healthCheck(address(t), METRIC_SERVICE)).toBe('NOT_SERVING');
    expect(await healthCheck(address(t), AUTHORIZATION_SERVICE)).toBe('SERVING');
    expect(await healthCheck(address(t), '')).toBe('SERVING');
    await rm(filler);
    await check(t, params, 'k3y');
    expect(await healthCheck(address(t), METRIC_SERVICE)).toBe('SERVING');
    // Whole records only: the last check's (the lost ones left nothing).
    expect(await jsonInstances(path.join(mnt, 'checks.jsonl'))).toEqual(['auth']);
  });

  it('--strict-decision-records: fails the check when its record cannot be kept, and health says so', async () => {
    const t = await adapterOn({ dataDir: mnt, format: 'json', strictDecisionRecords: true });
    const params = { file_path: 'strict.jsonl', auth_key: 'k3y' };
    fillDisk();
    const err = await rpcError(check(t, params, 'k3y'));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(await healthCheck(address(t), AUTHORIZATION_SERVICE)).toBe('NOT_SERVING');
    expect(await healthCheck(address(t), '')).toBe('SERVING');
    await rm(filler);
    expect((await check(t, params, 'k3y')).status?.code).toBe(0);
    expect(await healthCheck(address(t), AUTHORIZATION_SERVICE)).toBe('SERVING');
  });
});

describe('a file or folder deleted under the adapter', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'vanish-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('recreates a deleted file and never answers OK for records nobody can find', async () => {
    const logs = path.join(dir, 'logs');
    const file = path.join(logs, 'out.jsonl');
    await mkdir(logs);
    const t = await adapterOn({ dataDir: dir, format: 'json' });
    const params = { file_path: 'logs/out.jsonl' };
    await report(t, params, ['a']);
    await unlink(file);
    await report(t, params, ['b']);
    expect(await jsonInstances(file)).toEqual(['b']);
    await rm(logs, { recursive: true });
    const err = await rpcError(report(t, params, ['c']));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toContain('ENOENT');
    await mkdir(logs);
    await report(t, params, ['d']);
    expect(await jsonInstances(file)).toEqual(['d']);
  });

  it('keeps rotating after the current file was deleted from outside', async () => {
    const t = await adapterOn({ dataDir: dir, format: 'json', rotateBytes: 600, rotateKeep: 2 });
    const params = { file_path: 'rot.jsonl' };
    const file = path.join(dir, 'rot.jsonl');
    await report(t, params, ['r1']);
    await unlink(file);
    for (const name of ['r2', 'r3', 'r4']) await report(t, params, [name]);
    // Rotated files are numbered oldest first (rot.jsonl.1, .2, ...); read them in order, then the current one.
    const rotated = (await readdir(dir))
      .filter((f) => /^rot\.jsonl\.\d+$/.test(f))
      .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
    const kept = [
      ...(await Promise.all(rotated.map((f) => jsonInstances(path.join(dir, f))))).flat(),
      ...(await jsonInstances(file)),
    ];
    expect(kept).toEqual(['r2', 'r3', 'r4'].slice(-kept.length));
    expect(kept).toContain('r4');
  });

  it('under load: OK only for records in a file that exists, whatever happens to the file or its folder', async () => {
    const t = await adapterOn({ dataDir: dir, format: 'json' });
    const folder = path.join(dir, 'busy');
    const file = path.join(folder, 'load.jsonl');
    await mkdir(folder);
    const params = { file_path: 'busy/load.jsonl' };
    /** 16 calls at once, the given change to the destination made while they are in flight. */
    async function round(tag: string, change?: () => Promise<unknown>) {
      const names = Array.from({ length: 16 }, (_, i) => `${tag}-${i}`);
      const outcomes = names.map((n) =>
        report(t, params, [n]).then(
          () => ({ name: n, ok: true }),
          () => ({ name: n, ok: false }),
        ),
      );
      await change?.();
      return Promise.all(outcomes);
    }
    const findable = async () => {
      const found = new Set<string>();
      for (const name of await readdir(folder).catch(() => [])) {
        for (const i of await jsonInstances(path.join(folder, name))) found.add(i);
      }
      return found;
    };
    const moved = [...(await round('a')), ...(await round('b', () => rename(file, `${file}.moved`)))];
    moved.push(...(await round('c')));
    expect(moved.every((o) => o.ok)).toBe(true);
    const afterMove = await findable();
    expect(moved.filter((o) => !afterMove.has(o.name))).toEqual([]);
    await t.adapter.reopenSinks(); // as logrotate's postrotate would (SIGHUP)

    await round('d', () => unlink(file)); // records of these calls may go with the file
    const afterUnlink = [...(await round('e')), ...(await round('f'))];
    expect(afterUnlink.every((o) => o.ok)).toBe(true);
    const recreated = new Set(await jsonInstances(file));
    expect(afterUnlink.filter((o) => !recreated.has(o.name))).toEqual([]);

    await round('g', () => rm(folder, { recursive: true }));
    const intoTheVoid = [...(await round('h')), ...(await round('i'))];
    expect(intoTheVoid.filter((o) => o.ok)).toEqual([]);
    await mkdir(folder);
    const back = await round('j');
    expect(back.every((o) => o.ok)).toBe(true);
    expect(await jsonInstances(file)).toEqual(expect.arrayContaining(back.map((o) => o.name)));
  });
});

describe('one destination, one writer', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'one-writer-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a second format on a file another handler writes, with FAILED_PRECONDITION', async () => {
    const t = await adapterOn({ dataDir: dir, rotateBytes: 400, rotateKeep: 50 });
    const text = { file_path: 'shared.txt', format: 'text' };
    const json = { file_path: 'shared.txt', format: 'json' };
    await report(t, text, ['t1']);
    const err = await rpcError(report(t, json, ['j1']));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(path.join(dir, 'shared.txt'));
    expect(err.details).toContain('text format');
    for (let i = 2; i <= 6; i++) await report(t, text, [`t${i}`]);
    let all = '';
    for (const name of await readdir(dir)) all += await readFile(path.join(dir, name), 'utf8');
    for (let i = 1; i <= 6; i++) expect(all).toContain(`'t${i}'`);
    expect(all).not.toContain('j1');
  });
});

describe('one file, one format, after eviction too', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'one-format-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps a file to the format that wrote it after its handler is evicted, until the file is gone', async () => {
    const t = await adapterOn({ dataDir: dir, handlerCacheSize: 1 });
    const file = path.join(dir, 'kept.txt');
    const text = { file_path: 'kept.txt', format: 'text' };
    const json = { file_path: 'kept.txt', format: 'json' };
    const other = { file_path: 'other.txt', format: 'json' };
    await report(t, text, ['t1']);
    await report(t, other, ['o1']); // evicts the text configuration: its sink closes
    const err = await rpcError(report(t, json, ['j1']));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(file);
    expect(err.details).toContain('text format');
    await report(t, text, ['t2']); // the format that owns it still writes it
    expect(await readFile(file, 'utf8')).not.toContain('j1');
    await report(t, other, ['o2']);
    await unlink(file); // gone: the path is free again, for either format
    await report(t, json, ['j2']);
    expect(await jsonInstances(file)).toEqual(['j2']);
    await report(t, other, ['o3']);
    expect((await rpcError(report(t, text, ['t3']))).details).toContain('json format');
  });
});

describe('destinations that stall', () => {
  let dir: string;
  let proc: CliProcess | undefined;
  beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'stall-'))));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  afterEach(() => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null)
      process.kill(-proc.child.pid!, 'SIGKILL');
    proc = undefined;
  });

  it('refuses a FIFO or a socket as file_path at once, and file sinks keep working after', async () => {
    await run('mkfifo', [path.join(dir, 'fifo')]);
    const socketServer = net.createServer().listen(path.join(dir, 'sock'));
    try {
      // A separate process: before the fix its threads hang in open() for good.
      proc = await startCli(['0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'silent']);
      const clients = connect(proc.address);
      const metric = (file_path: string) =>
        clients.metric({ instances: [{ name: 'x', value: str('v') }], adapter_config: paramsAny({ file_path }) });
      const within = <T>(p: Promise<T>) =>
        Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('call hung')), 10_000))]);
      // More calls than libuv has threads.
      for (let i = 0; i < 6; i++) {
        const err = await within(rpcError(metric('fifo')));
        expect(err.code).toBe(status.FAILED_PRECONDITION);
        expect(err.details).toContain('is a FIFO; a file sink writes only regular files');
      }
      const err = await within(rpcError(metric('sock')));
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toContain('socket');
      await within(metric('regular.txt'));
      expect(await readFile(path.join(dir, 'regular.txt'), 'utf8')).toContain("'x'");
      clients.close();
    } finally {
      socketServer.close();
    }
  });

  it('fails a call whose stdout write stalls with DEADLINE_EXCEEDED, and takes back records not yet written', async () => {
    const flags = ['--decode-workers', '0', '--sink-write-timeout', '500', '--log-level', 'silent'];
    proc = await startCli(['0', '--host', '127.0.0.1', ...flags]);
    proc.child.stdout.pause(); // nobody reads: the pipe fills and the write never completes
    const clients = connect(proc.address);
    const metric = (name: string, size: number) =>
      clients.metric({ instances: [{ name, value: str('y'.repeat(size)) }], adapter_config: paramsAny({}) });
    const stalled = rpcError(metric('stalled', 2 * 1024 * 1024));
    // Its bytes have reached the pipe (a fixed sleep let the small call overtake it on a loaded machine).
    const pipe = proc.child.stdout;
    await waitFor(() => pipe.readableLength > 0, 20_000);
    const queued = rpcError(metric('queued-behind', 10));
    expect((await stalled).code).toBe(status.DEADLINE_EXCEEDED);
    const err = await queued;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(err.details).toContain('--sink-write-timeout 500 ms');
    // The reader comes back: the write in progress completes, the record taken back never appears.
    proc.child.stdout.resume();
    const out = proc;
    const end = Date.now() + 10_000;
    while (!out.stdout().includes("'stalled'") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await metric('later', 10);
    expect(out.stdout()).toContain("'later'");
    expect(out.stdout()).not.toContain('queued-behind');
    clients.close();
  });

  it('bounds the wait on any sink type (a slow plug-in sink), counts it, and still answers checks', async () => {
    const control = memorySinkControl();
    control.delayMs = 3_000;
    const t = await adapterOn(
      { sinkWriteTimeoutMs: 300, metricsPort: 0, metricsHost: '127.0.0.1' },
      { memory: () => Promise.resolve(new MemorySink(control)) },
    );
    const params = { sink: 'memory', auth_key: 'k' };
    const started = Date.now();
    const err = await rpcError(report(t, params, ['slow']));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await check(t, params, 'k')).status?.code).toBe(0);
    expect(await metricValue(t, 'sink_write_timeouts_total', { sink: 'memory' })).toBe(2);
    expect(await metricValue(t, 'decision_records_lost_total', { code: 'DEADLINE_EXCEEDED' })).toBe(1);
    control.delayMs = 0;
  });
});

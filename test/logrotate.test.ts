// The README's logrotate recipe with Debian's logrotate: `create` moves the
// file away and makes a new one, `postrotate` sends SIGHUP to the pid in
// --pid-file. The adapter runs under `npm start` (npm forwards only SIGINT and
// SIGTERM; a SIGHUP to npm's own pid would kill it and orphan the adapter).
// Under a small steady load, three rotations lose no acknowledged record and
// duplicate none, and npm and the adapter keep running.
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { connect, paramsAny } from './helpers/clients.js';
import { listeningAddress, ROOT } from './helpers/cli.js';
import { describeWith } from './helpers/peers.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const LOGROTATE = existsSync('/usr/sbin/logrotate') ? '/usr/sbin/logrotate' : 'logrotate';

let dir: string | undefined;
let npm: ChildProcessWithoutNullStreams | undefined;

describeWith(['logrotate'], 'logrotate (create + postrotate kill -HUP from --pid-file) under npm start', () => {
  afterAll(async () => {
    // npm was started in its own process group: end the whole group (an adapter
    // orphaned by a failed check included).
    if (npm?.pid !== undefined) {
      try {
        process.kill(-npm.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loses and duplicates no acknowledged record over three rotations', { timeout: 90_000 }, async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'logrotate-'));
    const pidFile = path.join(dir, 'adapter.pid');
    const out = path.join(dir, 'out.jsonl');
    // --ignore-scripts skips prestart (the build); the test suite has built dist/ already.
    npm = spawn(
      'npm',
      [
        'start',
        '--silent',
        '--ignore-scripts',
        '--',
        '0',
        '--host',
        '127.0.0.1',
        '--data-dir',
        dir,
        '--pid-file',
        pidFile,
        '--decode-workers',
        '0',
      ],
      { cwd: ROOT, stdio: 'pipe', detached: true },
    );
    let stderr = '';
    npm.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    npm.stdout.resume();
    await waitFor(() => listeningAddress(stderr) !== undefined || npm!.exitCode !== null, 30_000);
    const address = listeningAddress(stderr);
    expect(address, stderr).toBeDefined();
    const adapterPid = Number(await readFile(pidFile, 'utf8'));
    expect(adapterPid).not.toBe(npm.pid);

    const config = path.join(dir, 'logrotate.conf');
    await writeFile(
      config,
      `${out} {\n  create 0644\n  rotate 10\n  missingok\n  nocompress\n  postrotate\n    kill -HUP "$(cat ${pidFile})"\n  endscript\n}\n`,
    );
    const state = path.join(dir, 'logrotate.state');

    const clients = connect(address!);
    const acknowledged: number[] = [];
    let next = 0;
    let stop = false;
    const adapterConfig = paramsAny({ file_path: out, format: 'json' });
    const worker = async (): Promise<void> => {
      while (!stop) {
        const n = next++;
        await clients.metric({ instances: [{ name: 'seq', value: int(n) }], adapter_config: adapterConfig });
        acknowledged.push(n);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const load = Promise.all([worker(), worker(), worker()]);
    for (let rotation = 1; rotation <= 3; rotation++) {
      await waitFor(() => acknowledged.length >= rotation * 100, 20_000);
      await run(LOGROTATE, ['--force', '--state', state, config]);
      await waitFor(() => (stderr.match(/"msg":"sinks reopened"/g) ?? []).length >= rotation, 10_000);
    }
    await waitFor(() => acknowledged.length >= 400, 20_000);
    stop = true;
    await load;
    clients.close();

    // npm and the adapter are both still running, and the adapter named the sink it reopened.
    expect(npm.exitCode).toBeNull();
    expect(() => process.kill(adapterPid, 0)).not.toThrow();
    expect(stderr).toContain(`"sinks":["file:${out}"]`);

    process.kill(adapterPid, 'SIGTERM');
    await waitFor(() => npm!.exitCode !== null, 20_000);
    expect(existsSync(pidFile)).toBe(false);

    const files = (await readdir(dir)).filter((f) => f.startsWith('out.jsonl'));
    expect(files.sort()).toEqual(['out.jsonl', 'out.jsonl.1', 'out.jsonl.2', 'out.jsonl.3']);
    const seen = new Map<number, number>();
    for (const f of files) {
      for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) {
        if (!line) continue;
        const record = JSON.parse(line) as { value: number | string };
        const n = Number(record.value);
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
    }
    const missing = acknowledged.filter((n) => !seen.has(n));
    const duplicated = [...seen].filter(([, count]) => count > 1).map(([n]) => n);
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    // Every rotated file holds records: each rotation happened under load.
    for (const f of files) expect((await readFile(path.join(dir, f), 'utf8')).length, f).toBeGreaterThan(0);
    // Every stderr line is JSON.
    for (const line of stderr.trimEnd().split('\n')) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  });
});

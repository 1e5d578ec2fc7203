// The CLI as a child process: start-up line, stdout sink, signals, help.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from './helpers/clients.js';
import { BIN, ROOT, startCli, type CliProcess } from './helpers/cli.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
let proc: CliProcess | undefined;

/** Whether process `pid` still runs (a zombie, exited but not yet reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether nothing listens on 127.0.0.1:port (we can listen there ourselves). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

afterEach(() => {
  // npm can end by the signal it forwarded (exitCode null, signalCode set): then there is nothing to kill.
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) process.kill(-proc.child.pid!, 'SIGKILL');
  proc = undefined;
});

describe('mygrpcadapter [port]', () => {
  it('prints the bound address, writes stdout records, logs JSON to stderr, exits 0 on SIGTERM', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1']);
    expect(proc.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const clients = connect(proc.address);
    await clients.metric({
      instances: [
        { name: 'i1metric.instance.istio-system', value: int(1235), dimensions: { response_code: int(200) } },
      ],
    });
    clients.close();
    const p = proc;
    await waitFor(() => p.stdout().includes('  }\n'));
    expect(proc.stdout()).toBe(
      "HandleMetric invoked with:\n  Adapter config: &Params{FilePath:,}\n  Instances: 'i1metric.instance.istio-system':\n  {\n\t\tValue = 1235\n\t\tDimensions = map[response_code:200]\n  }\n",
    );
    process.kill(proc.child.pid!, 'SIGTERM');
    expect(await proc.exited).toBe(0);
    const logLines = proc.stderr().trimEnd().split('\n').slice(1);
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(proc.stderr()).toContain('"msg":"stopped"');
  });

  it('exits 0 on SIGINT too', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--log-level', 'silent']);
    process.kill(proc.child.pid!, 'SIGINT');
    expect(await proc.exited).toBe(0);
  });

  it('binds all interfaces by default and prints it the Go way', async () => {
    proc = await startCli(['0']);
    expect(proc.address).toMatch(/^\[::\]:\d+$/);
    process.kill(proc.child.pid!, 'SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  it('refuses a bad port with a clear message and exit code 1', async () => {
    await expect(run(process.execPath, [BIN, '70000'], { cwd: ROOT })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('port: expected an integer 0..65535, got "70000"'),
    });
  });

  it('--help lists the flags', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'], { cwd: ROOT });
    for (const flag of ['--host', '--log-level', '--format', '--data-dir', '--max-message-bytes']) {
      expect(stdout).toContain(flag);
    }
  });

  it('health subcommand: SERVING and exit 0 for a running adapter, exit 1 when nothing answers', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--log-level', 'silent']);
    const { stdout } = await run(process.execPath, [BIN, 'health', '--address', proc.address], { cwd: ROOT });
    expect(stdout).toBe('SERVING\n');
    const port = proc.address.split(':')[1]!;
    process.kill(proc.child.pid!, 'SIGTERM');
    await proc.exited;
    await expect(
      run(process.execPath, [BIN, 'health', '--address', `127.0.0.1:${port}`, '--timeout', '500'], { cwd: ROOT }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('health check of 127.0.0.1:') });
  });

  it('npm start -- 0 --host 127.0.0.1 builds and serves', async () => {
    proc = await startCli(['start', '--silent', '--', '0', '--host', '127.0.0.1'], { command: 'npm' });
    expect(proc.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const clients = connect(proc.address);
    const res = await clients.authorization({ instance: { name: 'x' } });
    clients.close();
    expect(res.status).toMatchObject({ code: 7, message: 'Unauthorized...' }); // PERMISSION_DENIED: no auth_key
    process.kill(-proc.child.pid!, 'SIGTERM');
    await proc.exited;
  }, 120_000);

  it('SIGTERM to npm start (npm alone, not its process group) stops the adapter and frees its port', async () => {
    proc = await startCli(['start', '--silent', '--', '0', '--host', '127.0.0.1'], { command: 'npm' });
    const start = proc
      .stderr()
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string; pid: number }) : undefined))
      .find((l) => l?.msg.startsWith('listening on'));
    const adapterPid = start!.pid;
    const port = Number(proc.address.split(':')[1]);
    expect(adapterPid).not.toBe(proc.child.pid);
    try {
      process.kill(proc.child.pid!, 'SIGTERM');
      await waitFor(() => !running(adapterPid), 10_000);
      expect(await portFree(port)).toBe(true);
      await proc.exited;
    } finally {
      if (running(adapterPid)) process.kill(adapterPid, 'SIGKILL');
    }
  }, 120_000);
});

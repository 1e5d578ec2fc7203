// A SIGHUP storm (anyone who may signal the process, or a logrotate loop)
// must not turn into a log flood nor a pile of reopens: the built adapter
// as a child process, its stderr lines counted.
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from './helpers/cli.js';
import { connect, paramsAny } from './helpers/clients.js';
import { int } from './helpers/values.js';

const SIGNALS = 200;

interface LogLine {
  level: number;
  msg: string;
  count?: number;
}

const lines = (stderr: string): LogLine[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

describe('a SIGHUP storm', () => {
  let dir: string;
  let proc: CliProcess | undefined;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'sighup-storm-'))));
  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    proc = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends SIGNALS SIGHUPs, a few ms apart so that the kernel does not merge them all, then stops the adapter. */
  async function storm(p: CliProcess): Promise<void> {
    for (let i = 0; i < SIGNALS; i++) {
      process.kill(p.child.pid!, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 2));
    }
    // SIGTERM is handled after the SIGHUPs already delivered; shutdown writes the pending counts.
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }

  it('whose reopens all fail: a bounded number of lines, the count in the last', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'warn']);
    const clients = connect(proc.address);
    await clients.metric({
      instances: [{ name: 'm', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'hup.txt' }),
    });
    clients.close();
    // Where the file was, a folder: every reopen fails (EISDIR).
    await unlink(path.join(dir, 'hup.txt'));
    await mkdir(path.join(dir, 'hup.txt'));
    const before = lines(proc.stderr()).length;
    await storm(proc);
    const logged = lines(proc.stderr()).slice(before);
    const reopenLines = logged.filter((l) => /reopen/.test(l.msg));
    // Before the fix: one error line per SIGHUP handled (~200).
    expect(reopenLines.length).toBeGreaterThanOrEqual(1);
    expect(reopenLines.length).toBeLessThanOrEqual(2);
    expect(reopenLines[0]!.msg).toContain(path.join(dir, 'hup.txt'));
    expect(logged.length).toBeLessThanOrEqual(4);
    // The storm was real: the summary line counts the failures after the first.
    const summary = reopenLines.find((l) => l.count !== undefined);
    console.log(
      `sighup-storm: ${SIGNALS} SIGHUPs, every reopen failing: ${logged.length} lines, ` +
        `${reopenLines.length} about the reopen, the last counting ${summary?.count} more failures`,
    );
    expect(summary?.count).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('whose reopens succeed: a bounded number of info lines', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--data-dir', dir]);
    const clients = connect(proc.address);
    await clients.metric({
      instances: [{ name: 'm', value: int(1) }],
      adapter_config: paramsAny({ file_path: 'hup.txt' }),
    });
    clients.close();
    const before = lines(proc.stderr()).length;
    await storm(proc);
    const reopened = lines(proc.stderr())
      .slice(before)
      .filter((l) => l.msg.startsWith('sinks reopened'));
    // Before the fix: one info line per SIGHUP handled (~200). Now a few
    // reopens each (logrotate's cadence), then one line and its count.
    expect(reopened.length).toBeGreaterThanOrEqual(1);
    expect(reopened.length).toBeLessThanOrEqual(7);
  }, 60_000);
});

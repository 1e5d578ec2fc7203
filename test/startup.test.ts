// Start-up is all or nothing, and flags say what is wrong with them: a port
// in use stops the whole process (exit 1, nothing left listening, one plain
// line saying which flag to change), a missing --data-dir is caught before
// serving, a flag without its value is refused, sizes and durations take
// units and echo what was typed when they cannot be read.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { DEFAULT_OPTIONS, startAdapter } from '../src/main.js';
import { runBin } from './helpers/cli.js';

let dir: string;
let blocker: net.Server;
let busyPort: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'startup-'));
  blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  busyPort = (blocker.address() as net.AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('a listener port in use', () => {
  it('makes the process exit 1, naming the port, with nothing left listening', async () => {
    const grpcPort = await freePort();
    const result = await runBin(
      [String(grpcPort), '--host', '127.0.0.1', '--metrics-port', String(busyPort), '--data-dir', dir],
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`EADDRINUSE`);
    expect(result.stderr).toContain(String(busyPort));
    expect(result.stderr).not.toContain('listening on');
    expect(result.stderr).not.toContain('adapter started');
    expect(await listening(grpcPort)).toBe(false);
  });

  it('in process: startAdapter rejects and stops the gRPC server it had started', async () => {
    const grpcPort = await freePort();
    const start = startAdapter(
      {
        ...DEFAULT_OPTIONS,
        host: '127.0.0.1',
        port: grpcPort,
        dataDir: dir,
        logLevel: 'silent',
        metricsPort: busyPort,
        metricsHost: '127.0.0.1',
      },
      { stdout: new PassThrough(), stderr: new PassThrough() },
    );
    await expect(start).rejects.toThrow(/EADDRINUSE/);
    expect(await listening(grpcPort)).toBe(false);
  });

  it('in process: a failing step stops the steps before it, newest first, and no port stays open', async () => {
    const grpcPort = await freePort();
    const opsPort = await freePort();
    const stderr = new PassThrough();
    let logs = '';
    stderr.on('data', (c: Buffer) => (logs += c.toString()));
    const start = startAdapter(
      {
        ...DEFAULT_OPTIONS,
        host: '127.0.0.1',
        port: grpcPort,
        dataDir: dir,
        logLevel: 'debug',
        opsPort,
        prometheusPort: busyPort,
      },
      { stdout: new PassThrough(), stderr },
    );
    await expect(start).rejects.toThrow(/EADDRINUSE/);
    const steps = (msg: string) =>
      logs
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; step?: string })
        .filter((l) => l.msg === msg)
        .map((l) => l.step);
    expect(steps('step started')).toEqual(['data dir', 'repeat log', 'security', 'ops and metrics listeners']);
    expect(steps('step stopped')).toEqual(['ops and metrics listeners', 'security', 'repeat log', 'data dir']);
    expect(await listening(opsPort)).toBe(false);
    expect(await listening(grpcPort)).toBe(false);
  });

  it('the gRPC port itself in use: exit 1', async () => {
    const result = await runBin([String(busyPort), '--host', '127.0.0.1', '--data-dir', dir], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/No address added out of total 1 resolved|EADDRINUSE/);
  });
});

describe('--data-dir', () => {
  it('that does not exist stops the start with exit 1', async () => {
    const missing = path.join(dir, 'missing');
    const result = await runBin(['0', '--host', '127.0.0.1', '--data-dir', missing], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--data-dir ${missing}: no such folder`);
  });

  it('that is a file stops the start with exit 1', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    const result = await runBin(['0', '--host', '127.0.0.1', '--data-dir', file], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`--data-dir ${file}: not a folder`);
  });
});

describe('a failed start is ONE plain line naming the cause and the flag to change, exit 1', () => {
  /** stderr holds exactly one line, plain text (no JSON, no stack); returns it. */
  function oneLine(result: { code: number; stderr: string }): string {
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mygrpcadapter: /);
    expect(result.stderr).not.toMatch(/stack|^\{/m);
    return lines[0]!;
  }
  const local = ['--host', '127.0.0.1', '--data-dir'];

  it('the gRPC port in use', async () => {
    const result = await runBin([String(busyPort), ...local, dir], dir);
    expect(oneLine(result)).toBe(
      `mygrpcadapter: cannot listen on 127.0.0.1:${busyPort}: EADDRINUSE: address already in use (choose another port or --host)`,
    );
  });

  it.each(['metrics', 'ops', 'prometheus'])('the --%s-port in use', async (which) => {
    const result = await runBin(['0', ...local, dir, `--${which}-port`, String(busyPort)], dir);
    expect(oneLine(result)).toBe(
      `mygrpcadapter: cannot listen on 127.0.0.1:${busyPort}: EADDRINUSE: address already in use (choose another --${which}-port or --${which}-host)`,
    );
  });

  it('a missing --data-dir', async () => {
    const missing = path.join(dir, 'missing');
    expect(oneLine(await runBin(['0', ...local, missing], dir))).toBe(
      `mygrpcadapter: --data-dir ${missing}: no such folder (create it or point --data-dir at an existing writable folder)`,
    );
  });

  it.each([
    ['missing', 'ENOENT: no such file or directory'],
    ['a folder', 'EISDIR: is a directory'],
  ])('a TLS certificate file that cannot be read (%s)', async (what, why) => {
    const cert = what === 'missing' ? path.join(dir, 'no-cert.pem') : dir;
    const result = await runBin(['0', ...local, dir, '--tls-cert', cert, '--tls-key', cert], dir);
    expect(oneLine(result)).toBe(
      `mygrpcadapter: --tls-cert ${cert}: ${why} (fix it or point --tls-cert at another file)`,
    );
  });

  it('a --record file that cannot be opened', async () => {
    const record = path.join(dir, 'missing', 'calls.jsonl');
    expect(oneLine(await runBin(['0', ...local, dir, '--record', record], dir))).toBe(
      `mygrpcadapter: --record ${record}: ENOENT: no such file or directory (point --record at a file in a writable folder)`,
    );
  });

  it('--log-level debug adds the stack, as JSON before the plain line', async () => {
    const result = await runBin([String(busyPort), ...local, dir, '--log-level', 'debug'], dir);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^mygrpcadapter: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE: address already in use/,
    );
    const fatal = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; err?: { stack?: string } })
      .find((l) => l.msg === 'start-up failed');
    expect(fatal?.err?.stack).toMatch(/^StartError: cannot listen on .*\n\s+at /);
  });
});

describe('a flag without its value', () => {
  it.each([
    '--metrics-port',
    '--data-dir',
    '--log-level',
    '--host',
    '--record',
    '--tls-cert',
    '--token-file',
    '--sink-wait',
  ])('%s is refused', async (flag) => {
    const result = await runBin(['0', flag], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Not enough arguments following: ${flag.slice(2)}`);
  });

  it('followed by another flag is refused, not read as a value', async () => {
    await expect(adapterOptionsFromArgv(['--host', '--log-level', 'debug'])).rejects.toThrow(
      'Not enough arguments following: host',
    );
  });
});

describe('sizes and durations', () => {
  it('take units', async () => {
    const options = await adapterOptionsFromArgv([
      '--max-message-bytes',
      '4Mi',
      '--sink-buffer-bytes',
      '10M',
      '--rotate-bytes',
      '512KiB',
      '--sink-wait',
      '5s',
      '--drain-delay',
      '1.5s',
      '--max-connection-age',
      '30m',
      '--reload-interval',
      '250',
    ]);
    expect(options).toMatchObject({
      maxMessageBytes: 4 * 1024 * 1024,
      sinkBufferBytes: 10_000_000,
      rotateBytes: 512 * 1024,
      sinkWaitMs: 5000,
      drainDelayMs: 1500,
      maxConnectionAgeMs: 30 * 60_000,
      security: expect.objectContaining({ reloadIntervalMs: 250 }) as unknown,
    });
  });

  it.each([
    ['--max-message-bytes', '10X', 'a size of at least 1 bytes'],
    ['--sink-wait', '5 parsecs', 'a duration of at least 0 ms'],
    ['--fsync-interval', '0.5ms', 'a duration of at least 1 ms'],
    ['--handler-cache-size', '1e3', 'an integer at least 1'],
    ['--metrics-port', '90000', 'an integer 0..65535'],
  ])('%s %s is refused, echoing what was typed', async (flag, typed, expected) => {
    await expect(adapterOptionsFromArgv([flag, typed])).rejects.toThrow(`${flag}: expected ${expected}`);
    await expect(adapterOptionsFromArgv([flag, typed])).rejects.toThrow(`got "${typed}"`);
  });
});

it('--help says what --shutdown-timeout does: the process kills itself, exit status 137', async () => {
  const { stdout } = await runBin(['--help'], dir);
  const help = stdout.replace(/\s+/g, ' ');
  expect(help).toMatch(
    /--shutdown-timeout time after a signal when the process logs an error and kills itself \(exit status 137\)/,
  );
});

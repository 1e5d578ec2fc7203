// Runs the built CLI (dist/) as a child process, the way operators run it.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: the nearest folder up with a package.json (this file also runs compiled, from dist/bench/). */
export const ROOT: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();
export const BIN = path.join(ROOT, 'dist/src/bin.js');

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** The address from the start line. */
  address: string;
  exited: Promise<number | null>;
}

/**
 * The bound address from a server's stderr: the adapter's JSON start line
 * (`"msg":"listening on ..."` with an `address` field), or the plain
 * `listening on "<addr>"` line the Go walkthrough and the bench's no-op server print.
 */
export function listeningAddress(stderr: string): string | undefined {
  for (const line of stderr.split('\n')) {
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { msg?: unknown; address?: unknown };
        if (
          typeof entry.msg === 'string' &&
          entry.msg.startsWith('listening on ') &&
          typeof entry.address === 'string'
        ) {
          return entry.address;
        }
      } catch {
        // a line still being written
      }
      continue;
    }
    const plain = /^listening on "([^"]+)"$/.exec(line);
    if (plain) return plain[1];
  }
  return undefined;
}

/** Starts `command args...` and resolves once it printed its listening line. */
export async function startCli(
  args: string[],
  options: { cwd?: string; command?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliProcess> {
  const command = options.command ?? process.execPath;
  const fullArgs = options.command ? args : [BIN, ...args];
  const child = spawn(command, fullArgs, {
    cwd: options.cwd ?? ROOT,
    stdio: 'pipe',
    detached: true,
    env: options.env ?? process.env,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${err}`)), 60_000);
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const address = listeningAddress(err);
      if (address !== undefined) {
        clearTimeout(timer);
        resolve(address);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening; stderr: ${err}`)));
  });
  return { child, stdout: () => out, stderr: () => err, address, exited };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion; never rejects (the exit code is in the result). */
export function runBin(args: string[], cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops a child started by startCli: SIGTERM (the adapter's drain), SIGKILL if it is still there after `graceMs`. */
export async function stopCli(proc: CliProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const killer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(killer);
}

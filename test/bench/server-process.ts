// The server under test as a child process: started like an operator would
// (it logs its start line with the bound address on stderr), measured through /proc,
// stopped with SIGTERM (SIGKILL if it hangs).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { listeningAddress } from '../helpers/cli.js';

export interface ServerProcess {
  pid: number;
  address: string;
  /** utime + stime of the process so far, in seconds. */
  cpuSeconds(): number;
  /** Peak resident set (VmHWM) in bytes. */
  peakRssBytes(): number;
  /** What it wrote on stderr (bounded). */
  stderr(): string;
  /** The child itself (its IPC channel when started with `ipc`). */
  child: ChildProcess;
  stop(): Promise<void>;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
}

export function readPeakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Spawns `command args`, stdout to /dev/null, and resolves once it is
 * listening. `ipc`: with a node IPC channel (alloc.ts talks to its probe).
 */
export async function startServer(
  command: string,
  args: string[],
  cwd: string,
  { ipc = false }: { ipc?: boolean } = {},
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(command, args, {
    cwd,
    stdio: ipc ? ['ignore', 'ignore', 'pipe', 'ipc'] : ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: no listening line in 30 s; stderr: ${err}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      if (err.length < STDERR_KEEP) err += chunk.toString();
      const address = listeningAddress(err);
      if (address !== undefined) {
        clearTimeout(timer);
        resolve(address);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited with ${code} before listening; stderr: ${err}`));
    });
  });
  const pid = child.pid!;
  return {
    pid,
    address,
    cpuSeconds: () => readCpuSeconds(pid),
    peakRssBytes: () => readPeakRssBytes(pid),
    stderr: () => err,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.disconnect();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    },
  };
}

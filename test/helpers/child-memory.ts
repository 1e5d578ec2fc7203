// Resident memory of a child process (the adapter under attack), from
// /proc/PID/status: VmRSS now, VmHWM the peak since it started. Worker
// threads share the process, so both include them.
import { readFile } from 'node:fs/promises';

async function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

export const rssBytes = (pid: number): Promise<number> => statusField(pid, 'VmRSS');
export const peakRssBytes = (pid: number): Promise<number> => statusField(pid, 'VmHWM');

export const MiB = 1024 * 1024;

// Kubernetes mounts a ConfigMap or Secret as links (`key -> ..data/key`,
// `..data -> ..<timestamp>/`), which it swaps on an update: a folder entry
// counts as a file (or folder) when it is one or links to one.
import { stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';

/** Whether `entry` (at `fullPath`) is a `kind`, or a link to one; a dangling link is neither. */
export async function entryIs(entry: Dirent, fullPath: string, kind: 'file' | 'directory'): Promise<boolean> {
  if (kind === 'file' ? entry.isFile() : entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  const target = await stat(fullPath).catch(() => undefined);
  return kind === 'file' ? target?.isFile() === true : target?.isDirectory() === true;
}

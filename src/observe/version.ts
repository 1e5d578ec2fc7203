// The version the start line reports, so a log says which build ran.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../manifests/project.js';

let version: string | undefined;

/** package.json's version, read once; "unknown" when the package files are not beside the code. */
export function adapterVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version?: string };
      version = pkg.version ?? 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

// The version the start line reports, so a log says which build ran. Read
// from our package.json, found by walking up from this module (src/ in tests,
// dist/src/ when built, the package folder when installed).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let version: string | undefined;

/** package.json's version, read once; "unknown" when the package files are not beside the code. */
export function adapterVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'mygrpcadapter') {
        version = pkg.version ?? 'unknown';
        break;
      }
    } catch {
      // no package.json here: keep walking up
    }
    if (path.dirname(dir) === dir) break;
  }
  return version;
}

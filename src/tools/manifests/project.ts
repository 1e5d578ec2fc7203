// The folder that holds buf.yaml and proto/: the repository in a checkout,
// the package folder when installed. Found by walking up from this module so
// it works from src/ (tests) and dist/src/ (built).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'buf.yaml')) && existsSync(path.join(dir, 'proto'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no folder with buf.yaml and proto/ above ${from}`);
  }
}

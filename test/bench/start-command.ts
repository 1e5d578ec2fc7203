// How the adapter is launched in production: package.json's start script
// (the Dockerfile's ENTRYPOINT is checked against it). The bench starts the
// server with the same node flags, so what it measures is what runs.
import { readFileSync } from 'node:fs';

/** `node <flags...> dist/src/bin.js` from the start script of the package.json in `root`. */
export function startCommand(root: string): string[] {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: { start: string } };
  return pkg.scripts.start.split(/\s+/).filter((w) => w !== '');
}

/** The node options of the start script (between `node` and the script). */
export function startNodeFlags(root: string): string[] {
  return startCommand(root).filter((w) => w.startsWith('--'));
}

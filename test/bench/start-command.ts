// How the adapter is launched in production: package.json's start script
// (the Dockerfile's ENTRYPOINT is checked against it). The bench starts the
// server with the same node flags, so what it measures is what runs.
import { readFileSync } from 'node:fs';

/** `node <flags...> dist/src/bin.js` from the start script of the package.json in `root`. */
export function startCommand(root: string): string[] {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/).filter((w) => w !== '');
  // `exec` is the shell's: npm runs the script with sh -c, and exec makes that
  // shell become node, so the SIGTERM npm forwards reaches the adapter.
  return words[0] === 'exec' ? words.slice(1) : words;
}

/** The node options of the start script (between `node` and the script). */
export function startNodeFlags(root: string): string[] {
  return startCommand(root).filter((w) => w.startsWith('--'));
}

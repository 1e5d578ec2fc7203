// The requests recorded from real Mixer (test/fixtures/realmixer, see its
// README): each case's description and the bytes of each adapter call.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'realmixer',
  'cases',
);

/** One argument of realmixer's command line; `{hex}` is one whose bytes are not UTF-8. */
export type FixtureArg = string | { hex: string };

export interface FixtureCase {
  name: string;
  description: string;
  verb: 'report' | 'check';
  /** Operator config files, paths from the project root, in --config order. */
  config: string[];
  args: FixtureArg[];
  seed: number;
  /** Each adapter call Mixer made, in order. */
  calls: { path: string; bytes: Buffer }[];
}

export function fixtureCases(): FixtureCase[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.json'.length);
      const description = JSON.parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8')) as Omit<
        FixtureCase,
        'name' | 'calls'
      >;
      const calls = readFileSync(path.join(FIXTURES_DIR, `${name}.dump`), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [callPath, hex] = line.split(' ');
          return { path: callPath!, bytes: Buffer.from(hex!, 'hex') };
        });
      return { name, ...description, calls };
    });
}

/** The argument's bytes, as realmixer got them. */
export function argBytes(arg: FixtureArg): Buffer {
  return typeof arg === 'string' ? Buffer.from(arg) : Buffer.from(arg.hex, 'hex');
}

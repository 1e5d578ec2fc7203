// Tests that run a real peer this repository does not hold: Debian's
// prometheus, promtool, logrotate and h2load, root (to mount), a memory cgroup, realmixer
// (../shared, see shared.ts). test/setup/peers.ts installs or builds each one
// before the tests when it can. When one is still missing, the tests that
// need it skip, and one line says what is missing and how to get it; under
// REQUIRE_ALL_PEERS=1 (.ci/run) they fail with that line instead.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, type SuiteFactory, type TestContext, type TestFunction } from 'vitest';
import { ROOT } from './cli.js';
import { memoryCgroupsHere } from './cgroup.js';
import { envoyProtosLacking, realmixerLacking } from './shared.js';

export type Need =
  'prometheus' | 'promtool' | 'logrotate' | 'h2load' | 'root' | 'realmixer' | 'memory-cgroup' | 'envoy-protos';

/** Every peer must be here: a missing one fails its tests (CI runs every test). */
export const REQUIRE_ALL_PEERS = process.env.REQUIRE_ALL_PEERS === '1';

/** The Debian package of each program. */
const DEBIAN: Partial<Record<Need, string>> = {
  prometheus: 'prometheus',
  promtool: 'prometheus',
  logrotate: 'logrotate',
  h2load: 'nghttp2-client',
};

/** A program's path: on $PATH, or in /usr/sbin or /sbin (not on a user's PATH everywhere). */
export function programPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this one
    }
  }
  return undefined;
}

function lack(need: Need): string | undefined {
  if (need === 'root') {
    return process.getuid?.() === 0 ? undefined : 'root (not root here: run npm test as root)';
  }
  if (need === 'realmixer') return realmixerLacking();
  if (need === 'envoy-protos') return envoyProtosLacking();
  if (need === 'memory-cgroup') {
    return memoryCgroupsHere
      ? undefined
      : 'a memory cgroup of its own (root, and a cgroup v1 memory controller or cgroup v2 this process may create groups in)';
  }
  const pkg = DEBIAN[need]!;
  if (programPath(need)) return undefined;
  return `${need} (Debian package ${pkg}; npm test installs it when run as root, or: sudo apt-get install ${pkg})`;
}

/** One line naming what of `needs` is missing here, or undefined when nothing is. */
export function lacking(...needs: Need[]): string | undefined {
  const missing = needs.map(lack).filter((m) => m !== undefined);
  return missing.length === 0 ? undefined : `needs ${missing.join('; ')}`;
}

function skipLine(name: string, line: string): void {
  const file = path.relative(ROOT, expect.getState().testPath ?? '?');
  process.stdout.write(`skip ${file} > ${name}: ${line}\n`);
}

function requiredError(line: string): Error {
  return new Error(`${line} (REQUIRE_ALL_PEERS=1: a missing peer fails its tests)`);
}

/**
 * `describe` for tests that need `needs`: skipped, with one line, when one is
 * missing; under REQUIRE_ALL_PEERS=1 the suite fails first instead, before
 * its own hooks run.
 */
export function describeWith(needs: Need[], name: string, fn: SuiteFactory): void {
  const line = lacking(...needs);
  if (line === undefined) {
    describe(name, fn);
  } else if (REQUIRE_ALL_PEERS) {
    describe(name, (suite) => {
      beforeAll(() => {
        throw requiredError(line);
      });
      return fn(suite);
    });
  } else {
    skipLine(name, line);
    describe.skip(name, fn);
  }
}

/** `it` for a test that needs `needs`: skipped, with one line, when one is missing; failed under REQUIRE_ALL_PEERS=1. */
export function itWith(needs: Need[], name: string, fn: TestFunction, timeout?: number): void {
  const line = lacking(...needs);
  if (line === undefined) {
    it(name, fn, timeout);
  } else if (REQUIRE_ALL_PEERS) {
    it(name, () => {
      throw requiredError(line);
    });
  } else {
    skipLine(name, line);
    it.skip(name, fn, timeout);
  }
}

/**
 * For a need only a running test can judge (what a started server serves):
 * with `line` (what is missing) the test skips, saying so in one line, or
 * fails under REQUIRE_ALL_PEERS=1; without it, nothing happens.
 */
export function skipUnless(line: string | undefined, ctx: TestContext): void {
  if (line === undefined) return;
  if (REQUIRE_ALL_PEERS) throw requiredError(line);
  skipLine(ctx.task.name, line);
  ctx.skip(line);
}

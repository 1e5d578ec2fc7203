// file_path is confined to --data-dir: escapes are refused with
// INVALID_ARGUMENT over a real connection, and nothing is written outside.
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confineToDataDir } from '../src/sinks/path-guard.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int } from './helpers/values.js';

let root: string;
let dataDir: string;
let outside: string;
let t: TestAdapter;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'data-dir-'));
  dataDir = path.join(root, 'data');
  outside = path.join(root, 'outside');
  await mkdir(path.join(dataDir, 'sub'), { recursive: true });
  await mkdir(outside);
  await symlink(outside, path.join(dataDir, 'escape'));
  await symlink(path.join(outside, 'created-by-link.txt'), path.join(dataDir, 'dangling.txt'));
  await symlink(path.join(dataDir, 'sub'), path.join(dataDir, 'inner'));
  await symlink(dataDir, path.join(root, 'data-link'));
  t = await startTestAdapter({ dataDir });
});

afterAll(async () => {
  await t.stop();
  await rm(root, { recursive: true, force: true });
});

function report(filePath: string): Promise<unknown> {
  return t.clients.metric({
    instances: [{ name: 'm', value: int(1) }],
    adapter_config: paramsAny({ file_path: filePath }),
  });
}

async function refusal(filePath: string): Promise<ServiceError> {
  try {
    await report(filePath);
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error(`file_path ${filePath} was accepted`);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('file_path outside --data-dir', () => {
  it('refuses a .. escape, naming the path and the data dir', async () => {
    const err = await refusal('../outside/dotdot.txt');
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `file_path "../outside/dotdot.txt" climbs out (..) of the data dir ${dataDir}; records may only go inside it ` +
        "(set it with the adapter's --data-dir DIR)",
    );
    expect(await exists(path.join(outside, 'dotdot.txt'))).toBe(false);
  });

  it('refuses a .. escape hidden in the middle of the path', async () => {
    const err = await refusal('sub/../../outside/middle.txt');
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(outside, 'middle.txt'))).toBe(false);
  });

  it('refuses an absolute path outside', async () => {
    const target = path.join(outside, 'abs.txt');
    const err = await refusal(target);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(`"${target}" is an absolute path outside the data dir ${dataDir}`);
    expect(await exists(target)).toBe(false);
  });

  it('refuses a symbolic link to a folder outside', async () => {
    const err = await refusal('escape/link.txt');
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(`follows a symbolic link to ${path.join(outside, 'link.txt')}, outside the data dir`);
    expect(await exists(path.join(outside, 'link.txt'))).toBe(false);
  });

  it('refuses a dangling symbolic link whose target (that open would create) is outside', async () => {
    const err = await refusal('dangling.txt');
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(await exists(path.join(outside, 'created-by-link.txt'))).toBe(false);
  });

  it('refuses the same configuration again on every call, and logs it', async () => {
    expect((await refusal('../x.txt')).code).toBe(status.INVALID_ARGUMENT);
    expect((await refusal('../x.txt')).code).toBe(status.INVALID_ARGUMENT);
    expect(t.logs()).toContain('climbs out (..) of the data dir');
  });
});

describe('file_path inside --data-dir', () => {
  it('allows an absolute path inside (the sample: /volume/out.txt with --data-dir /volume)', async () => {
    await report(path.join(dataDir, 'abs-inside.txt'));
    expect(await readFile(path.join(dataDir, 'abs-inside.txt'), 'utf8')).toContain('HandleMetric invoked with:');
  });

  it('allows a symbolic link that stays inside, and .. that stays inside', async () => {
    await report('inner/linked.txt');
    await report('sub/../top.txt');
    expect(await exists(path.join(dataDir, 'sub', 'linked.txt'))).toBe(true);
    expect(await exists(path.join(dataDir, 'top.txt'))).toBe(true);
  });

  it('judges by real location, so a data dir reached through a link still works', () => {
    const viaLink = path.join(root, 'data-link');
    expect(confineToDataDir('a.txt', viaLink)).toBe(path.join(dataDir, 'a.txt'));
    expect(confineToDataDir(path.join(dataDir, 'b.txt'), viaLink)).toBe(path.join(dataDir, 'b.txt'));
    expect(() => confineToDataDir('../outside/c.txt', viaLink)).toThrow(/climbs out/);
  });

  it('allows a path whose folders do not exist yet (the sink reports that)', () => {
    expect(confineToDataDir('new/deeper/d.txt', dataDir)).toBe(path.join(dataDir, 'new/deeper/d.txt'));
  });
});

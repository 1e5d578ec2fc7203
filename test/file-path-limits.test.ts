// file_path values the kernel cannot take (a NUL byte, a name past 255
// bytes, a path past 4095) are the caller's mistake: INVALID_ARGUMENT naming
// the limit, not INTERNAL with Node's error text.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

let t: TestAdapter;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'file-path-limits-'));
  t = await startTestAdapter({ dataDir: dir, logLevel: 'info' });
});

afterAll(async () => {
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

const report = (filePath: string) =>
  t.clients.metric({ instances: [{ name: 'm', value: int(1) }], adapter_config: paramsAny({ file_path: filePath }) });

it.each([
  ['a NUL byte', 'out\u0000.txt', 'file_path: must not contain NUL bytes, got "out\\u0000.txt"'],
  ['a 256-byte name', `${'n'.repeat(256)}.txt`, 'file_path: a name in it is longer than 255 bytes'],
  ['a 4096-byte path', `${'d/'.repeat(2048)}x`, 'file_path: longer than 4095 bytes'],
])('%s is INVALID_ARGUMENT', async (_name, filePath, message) => {
  const err = await rpcError(report(filePath));
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  expect(err.details).toContain(message);
  expect(await readdir(dir)).toEqual([]);
});

it('a path within the limits that grows past them inside the data dir is INVALID_ARGUMENT too', async () => {
  // 4090 bytes of file_path (within the limit) under a data dir whose own path adds the rest.
  const filePath = `${`${'d'.repeat(199)}/`.repeat(21)}x`;
  const err = await rpcError(report(filePath.slice(0, 4090)));
  expect(err.code).toBe(status.INVALID_ARGUMENT);
  expect(err.details).toMatch(/file_path: longer than 4095 bytes once resolved in the data dir/);
});

it('a name of exactly 255 bytes is fine', async () => {
  await report(`${'n'.repeat(251)}.txt`);
  expect(await readdir(dir)).toEqual([`${'n'.repeat(251)}.txt`]);
});

// Untrusted values quoted in statuses and logs are bounded: a 4 MiB
// type_url, format, valid_duration, sink or file_path used to come back
// whole in grpc-message (the client then failed with "metadata size exceeds
// limit") and in the warn log.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, DETAILS_MAX_BYTES, ECHO_MAX_BYTES, quoted } from '../src/common/echo.js';
import { PARAMS_TYPE_URL } from '../src/wire/load.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int, ip } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

const HUGE = 4 * 1024 * 1024;
// The longest a bounded status can be: the cap plus the note that says it was cut.
const MAX_DETAILS = DETAILS_MAX_BYTES + 64;

let t: TestAdapter;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'echo-bounds-'));
  // Room for a 4 MiB value in one request (the default limit is 4 MiB in all).
  t = await startTestAdapter({ dataDir: dir, logLevel: 'info', maxMessageBytes: 16 * 1024 * 1024 });
});

afterAll(async () => {
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

function expectBoundedLogs(): void {
  for (const line of t.logs().trimEnd().split('\n')) expect(Buffer.byteLength(line)).toBeLessThan(4096);
}

describe('a refused call quotes what it got, bounded', () => {
  it('4 MiB type_url', async () => {
    const err = await rpcError(
      t.clients.metric({ instances: [], adapter_config: { type_url: 'x'.repeat(HUGE), value: Buffer.alloc(0) } }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `adapter_config: expected type_url "${PARAMS_TYPE_URL}", got "${'x'.repeat(ECHO_MAX_BYTES)}"… (${HUGE} bytes, first ${ECHO_MAX_BYTES} shown)`,
    );
    expectBoundedLogs();
  });

  for (const field of ['format', 'valid_duration', 'sink', 'file_path'] as const) {
    it(`4 MiB ${field}`, async () => {
      const err = await rpcError(
        t.clients.metric({
          instances: [],
          adapter_config: paramsAny({ file_path: 'out.txt', [field]: 'y'.repeat(HUGE) }),
        }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain(`${field}: `);
      expect(err.details).toContain(`"${'y'.repeat(ECHO_MAX_BYTES)}"… (${HUGE} bytes, first ${ECHO_MAX_BYTES} shown)`);
      expect(Buffer.byteLength(err.details)).toBeLessThan(MAX_DETAILS);
      expectBoundedLogs();
    });
  }

  it('a 1 MiB dimension name with a malformed value', async () => {
    const name = 'd'.repeat(1024 * 1024);
    const err = await rpcError(
      t.clients.metric({ instances: [{ name: 'i', value: int(1), dimensions: { [name]: ip([1, 2, 3]) } }] }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain('IP address has 3 bytes');
    expect(Buffer.byteLength(err.details)).toBeLessThan(MAX_DETAILS);
    expectBoundedLogs();
  });
});

describe('quoted and bounded', () => {
  it('leave short values whole, JSON-quoted', () => {
    expect(quoted('a"b\u0000')).toBe('"a\\"b\\u0000"');
    expect(bounded('short')).toBe('short');
  });

  it('never cut inside a character', () => {
    const s = 'é'.repeat(100); // 200 bytes
    const shown = quoted(s);
    expect(shown).toBe(`"${'é'.repeat(64)}"… (200 bytes, first 128 shown)`);
    expect(quoted('€'.repeat(50))).toBe(`"${'€'.repeat(42)}"… (150 bytes, first 128 shown)`);
  });
});

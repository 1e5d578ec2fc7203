// Untrusted values quoted in statuses and logs are bounded: a 4 MiB
// type_url, format, valid_duration, sink or file_path used to come back
// whole in grpc-message (the client then failed with "metadata size exceeds
// limit") and in the warn log. Params fields now reach the quoting at most
// as long as the 64 KiB Params bound allows; 4 MiB of them is refused first.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, DETAILS_MAX_BYTES, ECHO_MAX_BYTES, quoted } from '../src/common/echo.js';
import { DEFAULT_MAX_PARAMS_BYTES } from '../src/core/params/params.js';
import { PARAMS_TYPE_URL } from '../src/wire/load.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int, ip } from './helpers/values.js';
import { rpcError } from './helpers/wait.js';

const HUGE = 4 * 1024 * 1024;
/** The longest value one Params field can have under the Params bound (with file_path "out.txt" beside it). */
const FIELD_MAX = DEFAULT_MAX_PARAMS_BYTES - 16;
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

  // Params hold at most DEFAULT_MAX_PARAMS_BYTES, so a field is quoted back
  // at most that long: still 8x grpc-js's 8 KiB metadata limit unbounded.
  for (const field of ['format', 'valid_duration', 'sink', 'file_path'] as const) {
    it(`${FIELD_MAX} bytes of ${field} (as long as the Params bound allows)`, async () => {
      const err = await rpcError(
        t.clients.metric({
          instances: [],
          adapter_config: paramsAny({ file_path: 'out.txt', [field]: 'y'.repeat(FIELD_MAX) }),
        }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toContain(`${field}: `);
      expect(err.details).toContain(
        `"${'y'.repeat(ECHO_MAX_BYTES)}"… (${FIELD_MAX} bytes, first ${ECHO_MAX_BYTES} shown)`,
      );
      expect(Buffer.byteLength(err.details)).toBeLessThan(MAX_DETAILS);
      expectBoundedLogs();
    });

    it(`4 MiB ${field}: refused by the Params bound, without quoting it`, async () => {
      const adapter_config = paramsAny({ file_path: 'out.txt', [field]: 'y'.repeat(HUGE) });
      const err = await rpcError(t.clients.metric({ instances: [], adapter_config }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toBe(
        `adapter_config: ${adapter_config.value.length} bytes is more than the ${DEFAULT_MAX_PARAMS_BYTES} a handler configuration may hold`,
      );
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

// The serve command's flags come from one table (src/options/serve-flags.ts):
// the options' types and defaults are the table's, and every bad flag of a
// run is reported at once, one line each, through the built CLI.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import type { LevelWithSilent } from 'pino';
import { DEFAULT_OPTIONS, type AdapterOptions } from '../src/main.js';
import { SERVE_FLAGS } from '../src/options/serve-flags.js';
import type { FsyncPolicy } from '../src/sinks/file.js';
import type { SinkModuleOption } from '../src/sinks/plugin-loader.js';
import { runBin } from './helpers/cli.js';

let dir: string;
beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'serve-flags-'))));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('every bad flag at once', () => {
  it('three bad values: three lines, each naming its flag and quoting what was typed, exit 1', async () => {
    const result = await runBin(['--sink-wait', '5x', '--rotate-keep', '0', '--fsync', 'sometimes'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n').sort()).toEqual([
      'mygrpcadapter: --fsync: expected one of never, batch, interval, got "sometimes"',
      'mygrpcadapter: --rotate-keep: expected an integer at least 1, got "0"',
      'mygrpcadapter: --sink-wait: expected a duration of at least 0 ms such as 5000, 5s, 2m or 1h, got "5x"',
    ]);
    expect(result.stdout).toBe('');
  });

  it('bad values and flags that do not go together, each repeated flag value on its own line', async () => {
    const result = await runBin(
      ['70000', '--tls-client-ca', 'ca.pem', '--sink-module', 'Bad', '--sink-module', 'file=./x.mjs'],
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'mygrpcadapter: port: expected an integer 0..65535, got "70000"',
      'mygrpcadapter: --sink-module Bad: expected NAME=MODULE with NAME like "http-lines" (a-z, 0-9, _ -)',
      'mygrpcadapter: --sink-module file=./x.mjs: "file" is a built-in sink type',
      'mygrpcadapter: --tls-client-ca needs --tls-cert and --tls-key',
    ]);
  });

  it('a flag refused for its value is not blamed again for what it combines with', async () => {
    await expect(adapterOptionsFromArgv(['--reload-interval', 'soon'])).rejects.toThrow(
      /^--reload-interval: expected a duration of at least 0 ms such as 5000, 5s, 2m or 1h, got "soon"$/,
    );
    // Readable but too small: the combination check (security.ts) names it.
    await expect(adapterOptionsFromArgv(['--reload-interval', '5'])).rejects.toThrow(
      /^--reload-interval: expected an integer of at least 100 \(ms\), got 5$/,
    );
  });
});

describe('the table', () => {
  it('gives the defaults: the CLI without flags runs with DEFAULT_OPTIONS', async () => {
    expect(await adapterOptionsFromArgv([])).toEqual(DEFAULT_OPTIONS);
  });

  it('names each flag and key once', () => {
    const names = SERVE_FLAGS.map((f) => f.name);
    const keys = SERVE_FLAGS.map((f) => f.key);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('reads every default it declares (help and docs show the same values the adapter uses)', () => {
    for (const flag of SERVE_FLAGS) expect(() => flag.read(flag.default), flag.name).not.toThrow();
  });

  it('types the options: each key has the type its kind reads', () => {
    // Checked by `npm run typecheck` (tsc), which `npm test` runs.
    expectTypeOf<AdapterOptions['sinkWaitMs']>().toEqualTypeOf<number>();
    expectTypeOf<AdapterOptions['metricsPort']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<AdapterOptions['fsync']>().toEqualTypeOf<FsyncPolicy>();
    expectTypeOf<AdapterOptions['logLevel']>().toEqualTypeOf<LevelWithSilent>();
    expectTypeOf<AdapterOptions['record']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AdapterOptions['strictDecisionRecords']>().toEqualTypeOf<boolean>();
    expectTypeOf<AdapterOptions['sinkModules']>().toEqualTypeOf<SinkModuleOption[]>();
    expectTypeOf<AdapterOptions['security']['allowedClientSans']>().toEqualTypeOf<string[]>();
    expectTypeOf<AdapterOptions['security']['reloadIntervalMs']>().toEqualTypeOf<number>();
  });
});

// The stand-in against real Mixer: for every case recorded from realmixer
// (test/fixtures/realmixer/, Mixer 1.6.14's own encoders), the stand-in is
// run with the same config and attribute flags against the adapter, and the
// requests it sends must equal Mixer's: decoded, and byte for byte once
// dedup ids are left out and map entries sorted (Mixer sends them in Go map
// order).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAdapter } from '../src/main.js';
import { decodeView, type RecordedCall } from '../src/recording/calls.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { ROOT, runBin } from './helpers/cli.js';
import { dedupIdOf, normalisedRequest } from './helpers/mixer-bytes.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/realmixer/cases');

interface Case {
  description: string;
  verb: 'report' | 'check';
  config: string[];
  args: (string | { hex: string })[];
  seed: number;
}

const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));

let work: string;
let adapter: RunningAdapter;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'mixer-fixtures-'));
  adapter = await startQuietAdapter(work);
});
afterAll(async () => {
  await adapter.stop();
  await rm(work, { recursive: true, force: true });
});

function withoutDedup(method: string, bytes: Buffer): unknown {
  const view = decodeView(method, 'request', bytes) as Record<string, unknown>;
  delete view.dedup_id;
  return view;
}

describe('the stand-in sends what real Mixer sends', () => {
  it('has the recorded cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(15);
  });

  it.each(names)('%s', { timeout: 60_000 }, async (name) => {
    const c = JSON.parse(await readFile(path.join(FIXTURES, `${name}.json`), 'utf8')) as Case;
    // A JS string (so a command-line argument given from here) cannot hold
    // invalid UTF-8; those cases are for the adapter and are replayed there.
    if (c.args.some((a) => typeof a !== 'string')) return;
    const dump = (await readFile(path.join(FIXTURES, `${name}.dump`), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [method = '', hex = ''] = l.split(' ');
        return { method, bytes: Buffer.from(hex, 'hex') };
      });
    const record = path.join(work, `${name}.jsonl`);
    const config = c.config.flatMap((f) => ['--config', path.join(ROOT, f)]);
    const r = await runBin([
      'mixer',
      c.verb,
      ...config,
      ...(c.args as string[]),
      '--address',
      adapter.address,
      '--record',
      record,
      // The bytes as sent, auth_key and token included, to compare with Mixer's.
      '--record-secrets',
    ]);
    const sent = (await readFile(record, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as RecordedCall)
      .map((call) => ({ method: call.method, bytes: Buffer.from(call.request, 'base64') }));

    if (dump.length === 0) {
      // Mixer refused part of the config and made no call; the stand-in refuses it too.
      expect(sent).toEqual([]);
      expect(r.code).toBe(1);
      return;
    }
    expect(r.stderr).toBe('');
    expect(sent.map((s) => s.method)).toEqual(dump.map((d) => d.method));
    // Calls to different handlers may go out in any order.
    expect(sent).toHaveLength(dump.length);
    expect(sent.map((s) => withoutDedup(s.method, s.bytes))).toEqual(
      expect.arrayContaining(dump.map((d) => withoutDedup(d.method, d.bytes))),
    );
    expect(sent.map((s) => normalisedRequest(s.method, s.bytes)).sort()).toEqual(
      dump.map((d) => normalisedRequest(d.method, d.bytes)).sort(),
    );
    // dedup ids: Mixer's decimal uint64 counter.
    for (const s of sent) expect(dedupIdOf(s.bytes)).toMatch(/^\d{1,20}$/);
  });
});

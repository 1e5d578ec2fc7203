// The handler id is logged and exported as a metric label, so it must not be
// derived from auth_key: with it derived from the Params bytes, an 8-hex
// hash prefix let a short key be guessed offline. Two adapters get the same
// calls with configurations that differ only in auth_key; everything they
// export (logs, /metrics, records, statuses, answers) must be the same.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { ConfigView } from '../src/record/types.js';
import { handlerId } from '../src/core/handler-table.js';
import { paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { int, str } from './helpers/values.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

interface Exported {
  logs: string[];
  metrics: string[];
  records: string;
  answers: unknown[];
}

/** Runs one fixed sequence of calls with `authKey` and returns what left the process, normalised for time and place. */
async function exportedWith(authKey: string): Promise<Exported> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'handler-id-'));
  dirs.push(dir);
  let t: TestAdapter | undefined;
  const answers: unknown[] = [];
  let metricsText = '';
  try {
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1', logLevel: 'trace' });
    const settle = async (p: Promise<unknown>) =>
      p.then(
        (ok) => answers.push({ ok }),
        (err: { code: number; details: string }) => answers.push({ code: err.code, details: err.details }),
      );
    const params = (extra: object) =>
      paramsAny({ file_path: 'out.jsonl', format: 'json', auth_key: authKey, ...extra });
    await settle(
      t.clients.metric({
        instances: [{ name: 'm.instance.istio-system', value: int(7), dimensions: { code: int(200) } }],
        adapter_config: params({}),
        dedup_id: '1',
      }),
    );
    for (const token of [authKey, 'wrong']) {
      await settle(
        t.clients.authorization({
          instance: {
            name: 'c.instance.istio-system',
            subject: { user: 'u', properties: { custom_token_header: str(token) } },
          },
          adapter_config: params({ valid_use_count: 3 }),
          dedup_id: '2',
        }),
      );
    }
    // A refused configuration: its status must not depend on the key either.
    await settle(t.clients.metric({ instances: [], adapter_config: params({ format: 'xml' }) }));
    metricsText = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
  } finally {
    await t?.stop();
  }
  const normalise = (s: string) =>
    s
      .replaceAll(dir, '<dir>')
      .replace(/"(time|pid|hostname|receivedAt)":("[^"]*"|\d+)/g, '"$1":_')
      .replace(/"port":\d+/g, '"port":_');
  return {
    logs: normalise(t.logs()).trimEnd().split('\n'),
    // Counters and label sets; timings and process figures vary run to run.
    metrics: normalise(metricsText)
      .split('\n')
      .filter((l) => l.startsWith('mygrpcadapter_') && !/^mygrpcadapter_(nodejs|process)_|_duration_seconds/.test(l)),
    records: normalise(await readFile(path.join(dir, 'out.jsonl'), 'utf8')),
    answers,
  };
}

it('exports nothing that changes when only the auth_key changes', async () => {
  const a = await exportedWith('k1');
  const b = await exportedWith('a-much-longer-second-key');
  // The runs did something worth comparing.
  expect(a.logs.some((l) => l.includes('new handler configuration'))).toBe(true);
  expect(a.metrics.some((l) => /instances_total\{.*handler="[0-9a-f]{8}"/.test(l))).toBe(true);
  expect(a.records.split('\n').filter(Boolean)).toHaveLength(3);
  expect(a.answers).toHaveLength(4);

  expect(b.logs).toEqual(a.logs);
  expect(b.metrics).toEqual(a.metrics);
  expect(b.records).toEqual(a.records);
  expect(b.answers).toEqual(a.answers);
  for (const exported of [JSON.stringify(a), JSON.stringify(b)]) {
    expect(exported).not.toContain('a-much-longer-second-key');
  }
});

it('derives the id from the masked view: stable, and different for a different non-secret field', () => {
  const view: ConfigView = {
    filePath: 'out.txt',
    authKey: '***',
    format: 'text',
    validDuration: '0s',
    validUseCount: 0,
    sink: 'file',
    denyValidDuration: '0s',
    denyValidUseCount: 0,
  };
  expect(handlerId(view)).toMatch(/^[0-9a-f]{8}$/);
  expect(handlerId({ ...view })).toBe(handlerId(view));
  expect(handlerId({ ...view, filePath: 'other.txt' })).not.toBe(handlerId(view));
});

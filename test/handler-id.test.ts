// The handler id is logged and exported as a metric label, so it must tell
// nothing about auth_key: derived from the Params bytes, an 8-hex hash prefix
// let a short key be guessed offline. It mixes in an HMAC of the key under a
// key each adapter draws at random, so configurations that differ only in
// auth_key get ids (and metric series) of their own, a configuration without
// a key has the same id in every process, and one with a key an id that
// changes from process to process: nothing about the key can be tested
// against it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigView } from '../src/record/types.js';
import { handlerId } from '../src/core/handler-table.js';
import { connect, paramsAny } from './helpers/clients.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { startCli, stopCli, type CliProcess } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';
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

/** The handler ids of the `new handler configuration` lines, in order. */
const idsIn = (logs: string): string[] =>
  logs
    .split('\n')
    .filter((l) => l.includes('"msg":"new handler configuration"'))
    .map((l) => /"handler":"([^"]*)"/.exec(l)?.[1] ?? '');

/** `exported` with each id of `ids` replaced by its place: the same shape whatever the ids were. */
function withoutIds(exported: Exported, ids: string[]): Exported {
  const strip = (s: string) => ids.reduce((t, id, i) => t.replaceAll(id, `<id${i}>`), s);
  return {
    logs: exported.logs.map(strip),
    metrics: exported.metrics.map(strip),
    records: strip(exported.records),
    answers: exported.answers,
  };
}

it('exports nothing about the auth_key but an id of its own, which differs per adapter for the same key', async () => {
  const a = await exportedWith('k1');
  const b = await exportedWith('a-much-longer-second-key');
  const again = await exportedWith('k1');
  // The runs did something worth comparing.
  expect(a.logs.some((l) => l.includes('new handler configuration'))).toBe(true);
  expect(a.metrics.some((l) => /instances_total\{.*handler="[0-9a-f]{8}"/.test(l))).toBe(true);
  expect(a.records.split('\n').filter(Boolean)).toHaveLength(3);
  expect(a.answers).toHaveLength(4);

  const ids = [a, b, again].map((e) => idsIn(e.logs.join('\n')));
  // Two configurations with a key each (the report's, the check's), ids like any other.
  for (const run of ids) {
    expect(run).toHaveLength(2);
    for (const id of run) expect(id).toMatch(/^[0-9a-f]{8}$/);
  }
  // The same key in another adapter has other ids: an id cannot be checked against a guessed key.
  expect(ids[2]).not.toEqual(ids[0]);
  expect(new Set(ids.flat()).size).toBe(6);
  // Everything else is the same whatever the key.
  const [na, nb, nagain] = [a, b, again].map((e, i) => withoutIds(e, ids[i]!));
  expect(nb).toEqual(na);
  expect(nagain).toEqual(na);
  for (const exported of [JSON.stringify(a), JSON.stringify(b)]) {
    expect(exported).not.toContain('a-much-longer-second-key');
  }
});

describe('handlerId', () => {
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

  it('derives the id from the masked view: stable, and different for a different non-secret field', () => {
    expect(handlerId(view)).toMatch(/^[0-9a-f]{8}$/);
    expect(handlerId({ ...view })).toBe(handlerId(view));
    expect(handlerId({ ...view, filePath: 'other.txt' })).not.toBe(handlerId(view));
  });

  it('mixes in the secret tag: another tag, another id; the same tag, the same id', () => {
    expect(handlerId(view, 'aa')).toMatch(/^[0-9a-f]{8}$/);
    expect(handlerId(view, 'aa')).toBe(handlerId({ ...view }, 'aa'));
    expect(handlerId(view, 'aa')).not.toBe(handlerId(view, 'bb'));
    expect(handlerId(view, 'aa')).not.toBe(handlerId(view));
  });
});

describe('ids across two adapter processes', () => {
  const procs: CliProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await stopCli(p);
  });

  /** The built adapter; a report through each of `configs`; their ids from its log, in order. */
  async function idsOf(configs: object[]): Promise<string[]> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'handler-id-proc-'));
    dirs.push(dir);
    const proc = await startCli(['0', '--host', '127.0.0.1', '--data-dir', dir, '--log-level', 'info']);
    procs.push(proc);
    const clients = connect(proc.address);
    try {
      for (const fields of configs) {
        await clients.metric({ instances: [{ name: 'm', value: int(1) }], adapter_config: paramsAny(fields) });
      }
    } finally {
      clients.close();
    }
    await waitFor(() => idsIn(proc.stderr()).length === configs.length);
    return idsIn(proc.stderr());
  }

  it('keep the id of a configuration without a key, and give a keyed one ids that differ per process', async () => {
    const plain = { file_path: 'out.txt' };
    const keyed = { file_path: 'out.txt', auth_key: 'k1' };
    const other = { file_path: 'out.txt', auth_key: 'k2' };
    const [first, second] = await Promise.all([idsOf([plain, keyed, other]), idsOf([plain, keyed, other])]);
    expect(first).toHaveLength(3);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    // Within a process, the three configurations are told apart.
    expect(new Set(first).size).toBe(3);
    expect(new Set(second).size).toBe(3);
  });
});

describe('two configurations that differ only in auth_key', () => {
  it('have series of their own: evicting one leaves the other on /metrics', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'handler-id-evict-'));
    dirs.push(dir);
    const t = await startTestAdapter({
      dataDir: dir,
      handlerCacheSize: 2,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      logLevel: 'info',
    });
    try {
      const scrape = async () => (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
      const use = async (fields: object) => {
        const adapter_config = paramsAny({ file_path: 'out.txt', ...fields });
        await t.clients.metric({ instances: [{ name: 'm', value: int(1) }], adapter_config });
        await t.clients.authorization({
          instance: { name: 'a', subject: { properties: { custom_token_header: str('k2') } } },
          adapter_config,
        });
      };
      await use({ auth_key: 'k1' });
      await use({ auth_key: 'k2' });
      const [one, two] = idsIn(t.logs());
      expect(one).toMatch(/^[0-9a-f]{8}$/);
      expect(two).toMatch(/^[0-9a-f]{8}$/);
      expect(two).not.toBe(one);
      const series = (text: string, id: string) =>
        text
          .split('\n')
          .filter((l) => /^mygrpcadapter_(instances|decisions)_total\{/.test(l) && l.includes(`handler="${id}"`));
      const before = await scrape();
      expect(series(before, one!).length).toBeGreaterThan(0);
      const kept = series(before, two!);
      expect(kept).toContain(
        `mygrpcadapter_decisions_total{handler="${two}",decision="allow",reason="token_matches",frontend="mixer",key=""} 1`,
      );
      expect(kept).toContain(`mygrpcadapter_instances_total{template="metric",handler="${two}",frontend="mixer"} 1`);

      // A third configuration (the cache holds two) evicts the least recently used: the k1 one.
      await use({ auth_key: '' });
      await waitFor(() => t.logs().includes('"msg":"handler configuration evicted from the cache"'));
      expect(t.logs()).toContain(`"handler":"${one}","msg":"handler configuration evicted from the cache"`);
      const after = await scrape();
      expect(series(after, one!)).toEqual([]);
      expect(series(after, two!)).toEqual(kept);
    } finally {
      await t.stop();
    }
  });
});

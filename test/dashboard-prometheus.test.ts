// The dashboard against a real Prometheus (Debian's): it scrapes an adapter
// every second under a short load that produces allows, denies, reports, a
// failing sink, a stalled one, refusals and TLS reloads, and every expression of
// deploy/grafana-dashboard.json must evaluate without error and return data.
// Two scrape jobs read the same adapter: one labels the pod `pod` (current
// Kubernetes scrape configs), one `pod_name` as the Prometheus of Istio
// 1.4-1.6 does (its kubernetes-pods job maps __meta_kubernetes_pod_name to
// pod_name); the per-pod legends must name the pod under both.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { memorySinkControl, MemorySink, type MemorySinkControl } from '../src/sinks/memory.js';
import type { SinkFactory } from '../src/sinks/registry.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { ROOT } from './helpers/cli.js';
import { paramsAny, type Clients } from './helpers/clients.js';
import { connectAsMixer } from './helpers/mixer-tls.js';
import { describeWith } from './helpers/peers.js';
import { startPrometheus, type PromSample, type RealPrometheus } from './helpers/real-prometheus.js';
import { int, str } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';

const POD = 'mygrpcadapter-7d9f-abcde';
const JOBS = ['mygrpcadapter', 'kubernetes-pods'] as const;

interface Target {
  expr: string;
  legendFormat: string;
  refId: string;
}
interface Panel {
  title: string;
  type: string;
  targets: Target[];
}

/** Panels whose value is a level that may rightly be 0 when scraped (the buffer drains between calls). */
const MAY_BE_ZERO = new Set(['Sink buffer depth']);

let pki: Pki;
let adapter: TestAdapter;
let prometheus: RealPrometheus;
const opened: Clients[] = [];

function memorySink(control: MemorySinkControl): SinkFactory {
  return (spec, env) => Promise.resolve(new MemorySink(control, env.buffer, env.events?.(spec)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sumOf(expr: string): Promise<number> {
  return (await prometheus.query(expr)).reduce((n, s) => n + Number(s.value[1]), 0);
}

/** What Grafana shows as the series name: `{{label}}` replaced by the label's value. */
function legend(format: string, labels: Record<string, string>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const text = format.replace(/\{\{\s*(.+?)\s*\}\}/g, (_, name: string) => {
    if (labels[name] === undefined) missing.push(name);
    return labels[name] ?? '';
  });
  return { text, missing };
}

describeWith(['prometheus'], 'deploy/grafana-dashboard.json against a real Prometheus', async () => {
  const dashboard = JSON.parse(await readFile(path.join(ROOT, 'deploy/grafana-dashboard.json'), 'utf8')) as {
    panels: Panel[];
  };

  beforeAll(async () => {
    pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'dashboard-')));
    const ca = await pki.ca('ca');
    const [server, renewed]: KeyPair[] = await Promise.all([
      pki.leaf('server', ca, { sans: SERVER_SANS, serial: '1001' }),
      pki.leaf('renewed', ca, { sans: SERVER_SANS, serial: '1002' }),
    ]);
    const live = { cert: pki.file('live.crt'), key: pki.file('live.key') };
    await copyFile(server!.cert, live.cert);
    await copyFile(server!.key, live.key);
    const tokenFile = pki.file('token');
    await writeFile(tokenFile, 'the-token');
    const failing = memorySinkControl();
    failing.failWith = 'EIO';
    const slow = memorySinkControl();
    slow.delayMs = 300;
    adapter = await startTestAdapter(
      {
        dataDir: pki.dir,
        logLevel: 'info',
        metricsPort: 0,
        metricsHost: '127.0.0.1',
        // The load uses exactly 7 handler configurations; one more, first, is evicted once.
        handlerCacheSize: 7,
        sinkBufferBytes: 3000,
        sinkWaitMs: 20,
        // The slow sink takes 300 ms a write: its first call times out.
        sinkWriteTimeoutMs: 200,
        security: {
          ...DEFAULT_OPTIONS.security,
          tls: { certFile: live.cert, keyFile: live.key, requireClientCert: false },
          tokenFile,
          reloadIntervalMs: 100,
        },
      },
      { failing: memorySink(failing), slow: memorySink(slow) },
    );
    const target = `127.0.0.1:${adapter.adapter.metricsPort!}`;
    prometheus = await startPrometheus(
      [
        `  - job_name: ${JOBS[0]}`,
        `    static_configs: [{ targets: ['${target}'], labels: { namespace: istio-system, pod: ${POD} } }]`,
        `  - job_name: ${JOBS[1]}`,
        `    static_configs: [{ targets: ['${target}'], labels: { namespace: istio-system, pod_name: ${POD} } }]`,
        '',
      ].join('\n'),
    );
    // Both jobs have scraped the adapter at rest: the zero-initialised series exist before the first event.
    const end = Date.now() + 20_000;
    while ((await sumOf('count_over_time(up[1m]) >= 2')) === 0 || (await prometheus.query('up == 1')).length < 2) {
      if (Date.now() > end) throw new Error(`targets not scraped: ${prometheus.output()}`);
      await sleep(200);
    }

    const ca_ = await pki.read('ca.crt');
    const mixer = connectAsMixer(adapter.adapter.port, {
      ca: ca_,
      token: { header: 'authorization', value: 'the-token' },
    });
    const intruder = connectAsMixer(adapter.adapter.port, {
      ca: ca_,
      token: { header: 'authorization', value: 'nope' },
    });
    opened.push(mixer, intruder);
    const check = (token: string | undefined, authKey: string | undefined) =>
      mixer.authorization({
        instance: {
          name: 'c',
          subject: { properties: token === undefined ? {} : { custom_token_header: str(token) } },
        },
        adapter_config: paramsAny({ file_path: 'checks.txt', ...(authKey === undefined ? {} : { auth_key: authKey }) }),
      });
    const metric = (fields: Parameters<typeof paramsAny>[0], value = int(1)) =>
      mixer.metric({ instances: [{ name: 'requestcount', value }], adapter_config: paramsAny(fields) });
    const ignore = () => undefined;

    // One configuration more than the cache holds, used first: the load's 7th evicts it (evicted
    // configurations take their series with them, so the load's own stay cached).
    await metric({ file_path: 'one-more.txt' });
    // A bounded load: 20 rounds, ~4 s.
    for (let round = 0; round < 20; round++) {
      await metric({ file_path: 'reports.txt' });
      await check('k', 'k'); // allow
      await check('wrong', 'k'); // deny: wrong_token
      await check(undefined, 'k'); // deny: missing_token
      await check('k', undefined); // deny: no_key_configured
      await mixer.authorization({
        instance: { name: 'c', subject: { properties: { custom_token_header: str('k') } } },
        adapter_config: paramsAny({ sink: 'failing', auth_key: 'k' }),
      }); // answered, its decision record lost
      await metric({ file_path: 'no/such/folder/reports.txt' }).catch(ignore); // sink cannot open
      await metric({ sink: 'failing' }).catch(ignore); // sink write fails
      await intruder.metric({ instances: [] }).catch(ignore); // refused: wrong token
      await mixer
        .metric({ instances: [], adapter_config: { type_url: 'type.googleapis.com/x.Params', value: Buffer.alloc(0) } })
        .catch(ignore); // params refused
      if (round % 5 === 0) {
        // Two large reports at once into a 300 ms sink with a 3000-byte buffer:
        // the second is refused, the first times out.
        const big = str('y'.repeat(2000));
        await Promise.allSettled([metric({ sink: 'slow' }, big), metric({ sink: 'slow' }, big)]);
      }
      if (round === 6) await copyFile(renewed!.cert, live.cert); // half a rotation: refused, counted as error
      if (round === 12) await copyFile(renewed!.key, live.key); // the rotation completes: ok
      await sleep(150);
    }
    await waitFor(() => adapter.logs().includes('"msg":"TLS certificate reloaded"'), 5000);
    // Wait until both jobs scraped the adapter after the load, then one scrape more.
    const calls = adapter.adapter.metrics!.registry.getSingleMetric('mygrpcadapter_calls_total')!;
    const total = (await calls.get()).values.reduce((n, v) => n + v.value, 0);
    const until = Date.now() + 20_000;
    while ((await prometheus.query(`sum by (job) (mygrpcadapter_calls_total) == ${total}`)).length < JOBS.length) {
      if (Date.now() > until) throw new Error(`Prometheus never saw ${total} calls: ${prometheus.output()}`);
      await sleep(200);
    }
    await sleep(1500);
  }, 120_000);

  afterAll(async () => {
    for (const c of opened) c.close();
    await adapter?.stop();
    await prometheus?.stop();
    if (pki) await rm(pki.dir, { recursive: true, force: true });
  });

  for (const job of JOBS) {
    for (const panel of dashboard.panels) {
      it(`${job}: ${panel.title}`, async () => {
        for (const target of panel.targets) {
          // The dashboard's variables: $job as Grafana substitutes one selected value.
          const expr = target.expr.replaceAll('$job', job);
          const result: PromSample[] = await prometheus.query(expr);
          const where = `${panel.title} ${target.refId}: ${expr}`;
          expect(result.length, `empty: ${where}`).toBeGreaterThan(0);
          for (const sample of result) {
            const { missing } = legend(target.legendFormat, sample.metric);
            expect(missing, `legend labels missing in ${JSON.stringify(sample.metric)}: ${where}`).toEqual([]);
            if (target.legendFormat.includes('{{pod}}')) {
              expect(legend(target.legendFormat, sample.metric).text).toContain(POD);
            }
          }
          if (!MAY_BE_ZERO.has(panel.title)) {
            const values = result.map((s) => Number(s.value[1]));
            expect(
              values.some((v) => v > 0),
              `no series above 0 (${values.join(', ')}): ${where}`,
            ).toBe(true);
          }
        }
      });
    }
  }

  it('shows the first events of zero-initialised counters: both TLS reload outcomes, every deny reason', async () => {
    for (const job of JOBS) {
      const reloads = await prometheus.query(
        `sum by (outcome) (increase(mygrpcadapter_tls_reloads_total{job="${job}"}[1h]))`,
      );
      const byOutcome = Object.fromEntries(reloads.map((s) => [s.metric.outcome, Number(s.value[1])]));
      expect(byOutcome.ok, job).toBeGreaterThan(0.5);
      expect(byOutcome.error, job).toBeGreaterThan(0.5);
      const denies = await prometheus.query(
        `sum by (reason) (increase(mygrpcadapter_decisions_total{job="${job}",decision="deny"}[1h])) > 0`,
      );
      expect(denies.map((s) => s.metric.reason).sort()).toEqual(['missing_token', 'no_key_configured', 'wrong_token']);
      const refused = await sumOf(`sum(increase(mygrpcadapter_calls_total{job="${job}",code="UNAUTHENTICATED"}[1h]))`);
      expect(refused).toBeGreaterThan(10);
    }
  });
});

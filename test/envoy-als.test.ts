// The access-log front-end on the adapter's gRPC port, driven by the sample
// operator config (its metric rule), with messages encoded by the reference
// client compiled from Envoy's own protos and sent over real grpc-js client
// streams: records in order on the sink, the v2 and v3 paths alike, bad
// messages answered with a clear status and counted, a stalled sink holding
// the client through flow control, the shared budget, the stream guard's
// per-message bounds, and shutdown with streams open.
import http2 from 'node:http2';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PAUSED_STREAM_BYTES } from '../src/frontends/envoy/als-report.js';
import type { AdapterRecord } from '../src/record/types.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { httpEntry, IDENTIFIER, logsMessage, openAls, tcpEntry, type AlsCall } from './helpers/als-client.js';
import { ALS_PATHS, callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { healthCheck, listServices } from './helpers/ops-clients.js';
import { estimateOf, loadOperatorConfig, sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { gatedSink, type Gate } from './helpers/gated-sink.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { sample, scrape } from './helpers/scrape.js';
import { waitFor } from './helpers/wait.js';
import { grpcPrefix, rawGrpcStream } from './helpers/wire.js';

interface JsonRecord {
  instance: string;
  value: unknown;
  dimensions: Record<string, unknown>;
}

/** The sample config with its handler's `file_path` line replaced by `params` (YAML lines under params:). */
async function sampleWith(dir: string, params: string): Promise<{ folder: string; out: string }> {
  const sample = await sampleOperatorConfig(dir);
  const file = path.join(sample.folder, 'sample_operator_config.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(`file_path: ${sample.out}`, params));
  return sample;
}

async function jsonRecords(out: string): Promise<JsonRecord[]> {
  const text = await readFile(out, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JsonRecord);
}

/** [value, response_code] of each metric record (a JSON line, or a record as sinks get it). */
const valuesOf = (records: readonly (JsonRecord | AdapterRecord)[]) =>
  records
    .filter((r) => !('template' in r) || r.template === 'metric')
    .map((r) => {
      const m = r as { value: unknown; dimensions: Record<string, unknown> & { values?: Record<string, unknown> } };
      return [Number(m.value), Number((m.dimensions.values ?? m.dimensions).response_code)];
    });

const entries = (from: number, n: number, code = 200) => Array.from({ length: n }, (_, i) => httpEntry(code, from + i));

const calls: AlsCall[] = [];
function als(address: string, p?: string): AlsCall {
  const call = openAls(address, p);
  calls.push(call);
  return call;
}
afterEach(() => {
  for (const c of calls.splice(0)) c.close();
});

const SERVED = { code: 0, details: '', response: Buffer.alloc(0) };

describeWith(['envoy-protos'], 'access logs with the sample operator config', () => {
  let dir: string;
  let out: string;
  let t: TestAdapter;
  let metrics: () => Promise<string>;

  beforeAll(async () => {
    dir = await tempDir('envoy-als-');
    const sample = await sampleWith(dir, `file_path: ${path.join(dir, 'out.txt')}\n    format: json`);
    out = sample.out;
    t = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [sample.folder],
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
    metrics = () => scrape(t.adapter.metricsPort!);
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one whole record per HTTP entry in the order received, and answers OK once the client ends', async () => {
    const before = (await jsonRecords(out)).length;
    const call = als(t.adapter.address);
    // Envoy: the identifier in the first message only.
    await call.send(logsMessage({ identifier: IDENTIFIER, http: [httpEntry(200, 1), httpEntry(503, 2)] }));
    await call.send(logsMessage({ http: [httpEntry(404, 3)] }));
    await call.send(logsMessage({ http: entries(4, 50, 201) }));
    call.stream.end();
    expect(await call.answer).toEqual(SERVED);
    const got = (await jsonRecords(out)).slice(before);
    expect(got[0]).toMatchObject({
      template: 'metric',
      instance: 'i1metric.instance.istio-system',
      value: 1,
      // Not produced from access logs (as in Mixer's bridge): the instance's default.
      dimensions: { response_code: 200, destination_service: 'unknown' },
      types: { value: 'INT64', dimensions: { response_code: 'INT64', destination_service: 'STRING' } },
    });
    expect(valuesOf(got)).toEqual([[1, 200], [2, 503], [3, 404], ...entries(4, 50).map((_, i) => [4 + i, 201])]);
  });

  it('takes TCP entries, a stream without any identifier, and the v2 path with the same records as v3', async () => {
    const send = async (p: string) => {
      const before = (await jsonRecords(out)).length;
      const call = als(t.adapter.address, p);
      await call.send(logsMessage({ tcp: [tcpEntry(10, 20), tcpEntry(30, 40)] }));
      await call.send(logsMessage({ http: [httpEntry(302, 7)] }));
      call.stream.end();
      expect(await call.answer).toEqual(SERVED);
      return (await jsonRecords(out)).slice(before).map(({ instance, value, dimensions }) => ({
        instance,
        value,
        dimensions,
      }));
    };
    const v3 = await send(ALS_PATHS.v3);
    expect(v3.map((r) => [r.value, r.dimensions.response_code])).toEqual([
      // TCP entries have no request.size and no response.code: the instance's defaults.
      [0, 200],
      [0, 200],
      [7, 302],
    ]);
    expect(await send(ALS_PATHS.v2)).toEqual(v3);
  });

  it('counts entries received and written', async () => {
    const before = await metrics();
    const call = als(t.adapter.address);
    await call.send(logsMessage({ identifier: IDENTIFIER, http: entries(0, 7) }));
    await call.send(logsMessage({ tcp: [tcpEntry(1, 1)] }));
    call.stream.end();
    expect(await call.answer).toEqual(SERVED);
    const after = await metrics();
    const delta = (labels: Record<string, string>, name = 'mygrpcadapter_access_log_entries_total') =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta({ outcome: 'received' })).toBe(8);
    expect(delta({ outcome: 'written' })).toBe(8);
    expect(delta({ outcome: 'not_written' })).toBe(0);
    expect(delta({ end: 'client_ended' }, 'mygrpcadapter_access_log_streams_total')).toBe(1);
    expect(delta({ template: 'metric', frontend: 'envoy' }, 'mygrpcadapter_instances_total')).toBe(8);
  });

  it('ends a stream at a message that is not a StreamAccessLogsMessage with INVALID_ARGUMENT, after writing the ones before', async () => {
    const before = (await jsonRecords(out)).length;
    const counted = await metrics();
    const call = als(t.adapter.address);
    await call.send(logsMessage({ identifier: IDENTIFIER, http: [httpEntry(200, 11)] }));
    // http_logs (field 2) announcing 5 bytes, holding 1.
    await call.send(Buffer.from([0x12, 0x05, 0x01]));
    await call.send(logsMessage({ http: [httpEntry(200, 12)] }));
    const answer = await call.answer;
    expect(answer.code).toBe(3);
    expect(answer.details).toMatch(/^not a valid StreamAccessLogsMessage/);
    expect(valuesOf((await jsonRecords(out)).slice(before))).toEqual([[11, 200]]);
    const after = await metrics();
    const ended = (m: string) => sample(m, 'mygrpcadapter_access_log_streams_total', { end: 'malformed' });
    expect(ended(after) - ended(counted)).toBe(1);
    expect(t.logs()).toContain('"msg":"access-log stream ended: malformed"');
    expect(t.logs()).toContain('"node":"sidecar~10.4.5.6~reviews-v1-abc.default~default.svc.cluster.local"');
  });

  it('ends a stream at a message over --max-decode-bytes with RESOURCE_EXHAUSTED, its entries counted as not written', async () => {
    const counted = await metrics();
    const call = als(t.adapter.address);
    // 16,000 entries in 3.2 MB (under --max-message-bytes): about 42 MB to decode alone.
    const big = logsMessage({ identifier: IDENTIFIER, http: entries(0, 16_000) });
    expect(big.length).toBeLessThan(4 * 1024 * 1024);
    await call.send(big);
    const answer = await call.answer;
    expect(answer.code).toBe(8);
    expect(answer.details).toMatch(
      /16000 entries in \d+ bytes, about \d+ bytes to decode and report; the per-message bound is 8388608 \(a quarter of --max-decode-bytes\)/,
    );
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(counted, name, labels);
    expect(delta('mygrpcadapter_access_log_entries_total', { outcome: 'not_written', cause: 'too_large' })).toBe(
      16_000,
    );
    expect(delta('mygrpcadapter_access_log_entries_total', { outcome: 'received' })).toBe(16_000);
    expect(delta('mygrpcadapter_access_log_streams_total', { end: 'too_large' })).toBe(1);
    expect(t.logs()).toContain('"msg":"access-log entries not written: too_large"');
  });

  it('is listed by reflection and reported SERVING by health', async () => {
    const ref = envoyReference();
    expect(ref.type('envoy.service.accesslog.v3.StreamAccessLogsMessage')).toBeDefined();
    const services = await listServices(t.adapter.address);
    expect(services).toEqual(
      expect.arrayContaining([
        'envoy.service.accesslog.v3.AccessLogService',
        'envoy.service.accesslog.v2.AccessLogService',
      ]),
    );
    expect(await healthCheck(t.adapter.address, 'envoy.service.accesslog.v3.AccessLogService')).toBe('SERVING');
  });
});

describeWith(['envoy-protos'], 'access logs against a stalled sink', () => {
  let dir: string;
  let t: TestAdapter;
  let gate: Gate;
  let folder: string;
  // Small enough that a few Envoy-size messages fill the shared budget.
  const MAX_DECODE = 4 * 1024 * 1024;

  beforeAll(async () => {
    dir = await tempDir('envoy-als-gated-');
    const sample = await sampleWith(dir, 'sink: gated');
    folder = sample.folder;
    const gated = gatedSink();
    gate = gated.gate;
    t = await startTestAdapter(
      {
        dataDir: dir,
        operatorConfig: [sample.folder],
        metricsPort: 0,
        metricsHost: '127.0.0.1',
        maxDecodeBytes: MAX_DECODE,
        sinkWriteTimeoutMs: 120_000,
      },
      { gated: gated.factory },
    );
  });
  afterAll(async () => {
    gate?.open();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the client through flow control while the event loop keeps answering, then writes everything in order', async () => {
    gate.close();
    const written = gate.records.length;
    const before = await scrape(t.adapter.metricsPort!);
    const received = (page: string) => sample(page, 'mygrpcadapter_access_log_entries_total', { outcome: 'received' });
    const call = als(t.adapter.address);
    await call.send(logsMessage({ identifier: IDENTIFIER, http: entries(0, 10) }));
    await waitFor(() => gate.started > 0);
    // 100 Envoy-size messages (16 KiB of 80 entries), each written once the client took the one before.
    const MESSAGES = 100;
    let taken = 0;
    const allTaken = new Promise<void>((resolve) => {
      const next = (): void => {
        if (taken === MESSAGES) return resolve();
        call.stream.write(logsMessage({ http: entries(10 + taken * 80, 80) }), () => {
          taken++;
          next();
        });
      };
      next();
    });
    // Meanwhile other calls are answered at once: health over gRPC, /metrics over HTTP.
    for (let i = 0; i < 20; i++) {
      expect(await healthCheck(t.adapter.address, 'envoy.service.accesslog.v3.AccessLogService')).toBe('SERVING');
    }
    // The adapter took the first message only: the rest wait in HTTP/2 windows and in the client.
    expect(received(await scrape(t.adapter.metricsPort!)) - received(before)).toBe(10);
    expect(taken).toBeLessThan(MESSAGES);
    gate.open();
    await allTaken;
    call.stream.end();
    expect(await call.answer).toEqual(SERVED);
    expect(valuesOf(gate.records.slice(written))).toEqual(entries(0, 10 + MESSAGES * 80).map((_, i) => [i, 200]));
  });

  it('ends the streams whose messages find the waiting room full with RESOURCE_EXHAUSTED, and serves the rest', async () => {
    gate.close();
    const before = await scrape(t.adapter.metricsPort!);
    // 8 KiB of 40 entries: ~280 KB estimated to write and 4 KB held while waiting, each plus 80 KiB
    // for its paused stream. As many as fit in a quarter of the bound are in progress (the first
    // always), as many as fit in an eighth wait (the first always), the rest are refused.
    const message = logsMessage({ identifier: IDENTIFIER, http: entries(0, 40) });
    const { estimate, held } = estimateOf(await loadOperatorConfig(folder, dir, ['gated']), message);
    const inProgress = Math.max(1, Math.floor(MAX_DECODE / 4 / (estimate + PAUSED_STREAM_BYTES)));
    const waiting = Math.max(1, Math.floor(MAX_DECODE / 8 / (held + PAUSED_STREAM_BYTES)));
    const STREAMS = inProgress + waiting + 3;
    expect(STREAMS - inProgress - waiting).toBeGreaterThan(0);
    const streams = Array.from({ length: STREAMS }, () => als(t.adapter.address));
    for (const s of streams) await s.send(message);
    const answers = streams.map((s) => s.answer);
    const early: { code: number; details: string }[] = [];
    for (const a of answers) void a.then((x) => early.push(x));
    const refusedCount = STREAMS - inProgress - waiting;
    await waitFor(() => early.length === refusedCount, 10_000);
    for (const r of early) {
      expect(r.code).toBe(8);
      expect(r.details).toMatch(
        /messages waiting for their turn hold \d+ bytes, the bound is 524288 \(an eighth of --max-decode-bytes\)/,
      );
    }
    gate.open();
    for (const s of streams) s.stream.end();
    const all = await Promise.all(answers);
    const served = all.filter((a) => a.code === 0).length;
    expect(served).toBe(inProgress + waiting);
    const after = await scrape(t.adapter.metricsPort!);
    const delta = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('mygrpcadapter_access_log_streams_total', { end: 'overloaded' })).toBe(refusedCount);
    expect(delta('mygrpcadapter_access_log_entries_total', { outcome: 'not_written', cause: 'overloaded' })).toBe(
      40 * refusedCount,
    );
    expect(delta('mygrpcadapter_access_log_entries_total', { outcome: 'written' })).toBe(40 * served);
  });
});

describeWith(['envoy-protos'], 'access-log streams and the stream guard', () => {
  let dir: string;
  let t: TestAdapter;
  let gate: Gate;

  beforeAll(async () => {
    dir = await tempDir('envoy-als-guard-');
    const sample = await sampleWith(dir, 'sink: gated');
    const gated = gatedSink();
    gate = gated.gate;
    t = await startTestAdapter(
      {
        dataDir: dir,
        operatorConfig: [sample.folder],
        sinkWriteTimeoutMs: 60_000,
        streams: { requestArrivalMs: 300, maxStreamMs: 600 },
      },
      { gated: gated.factory },
    );
  });
  afterAll(async () => {
    gate?.open();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a stream open past the arrival and stream-age bounds, and cuts a message that stops half-way', async () => {
    const call = als(t.adapter.address);
    await call.send(logsMessage({ identifier: IDENTIFIER, http: [httpEntry(200, 1)] }));
    await waitFor(() => gate.records.length === 1);
    // A check whose decision record cannot be written stays open, until the stream-age bound cuts it.
    gate.close();
    const check = callRaw(t.adapter.address, CHECK_PATHS.v3, Buffer.alloc(0));
    // An access-log message that stops half-way is cut by the arrival bound.
    const session = http2.connect(`http://${t.adapter.address}`);
    session.on('error', () => undefined);
    const half = rawGrpcStream(session, ALS_PATHS.v3);
    half.on('error', () => undefined);
    const halfCut = new Promise<number | undefined>((r) => half.on('close', () => r(half.rstCode)));
    half.write(Buffer.concat([grpcPrefix(100), Buffer.alloc(50)]));
    expect(await halfCut).toBe(http2.constants.NGHTTP2_CANCEL);
    expect((await check).code).toBe(1); // CANCELLED
    session.destroy();
    expect(t.logs()).toContain('connection or stream cut by a bound: request-arrival');
    expect(t.logs()).toContain('connection or stream cut by a bound: stream-age');
    // The first stream, older than both, is still served.
    gate.open();
    await call.send(logsMessage({ http: [httpEntry(200, 2)] }));
    call.stream.end();
    expect(await call.answer).toEqual(SERVED);
    expect(valuesOf(gate.records)).toEqual([
      [1, 200],
      [2, 200],
    ]);
  });
});

describeWith(['envoy-protos'], 'access-log streams at shutdown', () => {
  it('reads an open stream to the end of what was sent, writes it, and answers OK', async () => {
    const dir = await tempDir('envoy-als-stop-');
    try {
      const sample = await sampleWith(dir, `file_path: ${path.join(dir, 'out.txt')}\n    format: json`);
      const t = await startTestAdapter({ dataDir: dir, operatorConfig: [sample.folder] });
      const a = als(t.adapter.address);
      const b = als(t.adapter.address, ALS_PATHS.v2);
      await a.send(logsMessage({ identifier: IDENTIFIER, http: entries(0, 5, 201) }));
      await b.send(logsMessage({ identifier: IDENTIFIER, tcp: [tcpEntry(1, 2)] }));
      // Both streams open on the adapter (their first messages written)...
      await waitFor(async () => (await jsonRecords(sample.out)).length === 6);
      // ...and more sent on one of them, not yet read when stop() begins.
      await Promise.all([
        a.send(logsMessage({ http: entries(5, 5, 201) })),
        a.send(logsMessage({ http: entries(10, 5, 201) })),
      ]);
      await t.stop();
      expect(await a.answer).toEqual(SERVED);
      expect(await b.answer).toEqual(SERVED);
      const got = valuesOf(await jsonRecords(sample.out));
      // The HTTP entries in order, the TCP entry (no response code: 200) wherever it came.
      expect(got.filter(([, code]) => code === 201).map(([v]) => v)).toEqual(entries(0, 15).map((_, i) => i));
      expect(got.filter(([, code]) => code === 200)).toEqual([[0, 200]]);
      expect(t.logs()).not.toContain('in-flight calls cancelled');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Property test of the access-log front-end: random streams of access-log
// messages (entries with random fields, encoded by the reference client from
// Envoy's own protos, mixed with random bytes, cut messages and messages
// over the bound) against the real adapter. Whatever arrives, the adapter
// answers each stream with OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED as the
// first message it cannot take says, writes a whole record for every entry
// before that message (in order, with the values Mixer would have had), and
// counts exactly as many entries written as there are records.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeLogsMessage, MalformedMessageError, MessageTooLargeError } from '../src/frontends/envoy/als-message.js';
import { MessageBudget } from '../src/frontends/envoy/als-budget.js';
import { prepareMessage } from '../src/frontends/envoy/als-report.js';
import type { MixerConfig } from '../src/opconfig/config.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { logsMessage, openAls, u64 } from './helpers/als-client.js';
import { ALS_PATHS } from './helpers/envoy-reference.js';
import { loadOperatorConfig, sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { sample, scrape } from './helpers/scrape.js';

/** Small, so that some random messages are over it. */
const MAX_DECODE = 256 * 1024;

const text = fc.string({ maxLength: 12, unit: 'grapheme' });
const u64s = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(u64);
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), text);
const address = fc.record(
  { socket_address: fc.record({ address: ip, port_value: fc.integer({ min: 0, max: 65535 }) }, { requiredKeys: [] }) },
  { requiredKeys: [] },
);
const time = fc.record(
  { seconds: fc.integer({ min: -1e10, max: 1e10 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) },
  { requiredKeys: [] },
);
const cert = fc.record(
  { subject_alt_name: fc.array(fc.record({ uri: text }), { maxLength: 2 }) },
  { requiredKeys: [] },
);
const common = fc.record(
  {
    downstream_remote_address: address,
    downstream_direct_remote_address: address,
    downstream_local_address: address,
    start_time: time,
    time_to_first_upstream_rx_byte: time,
    time_to_last_downstream_tx_byte: time,
    upstream_cluster: fc.oneof(
      text,
      fc.array(text, { minLength: 4, maxLength: 4 }).map((p) => p.join('|')),
    ),
    response_flags: fc.record(
      { no_healthy_upstream: fc.boolean(), fault_injected: fc.boolean(), downstream_protocol_error: fc.boolean() },
      { requiredKeys: [] },
    ),
    tls_properties: fc.record(
      { tls_sni_hostname: text, local_certificate_properties: cert, peer_certificate_properties: cert },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const headers = fc.dictionary(fc.constantFrom('content-type', ':authority', 'x-b3-traceid', 'x'), text, { maxKeys: 3 });
const httpEntry = fc.record(
  {
    common_properties: common,
    protocol_version: fc.integer({ min: 0, max: 4 }),
    request: fc.record(
      {
        request_method: fc.integer({ min: 0, max: 9 }),
        scheme: text,
        authority: text,
        path: text,
        user_agent: text,
        request_id: text,
        request_headers_bytes: u64s,
        request_body_bytes: u64s,
        request_headers: headers,
      },
      { requiredKeys: [] },
    ),
    response: fc.record(
      {
        response_code: fc.record({ value: fc.nat({ max: 0xffffffff }) }, { requiredKeys: [] }),
        response_headers_bytes: u64s,
        response_body_bytes: u64s,
        response_headers: headers,
        response_code_details: text,
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const tcpEntry = fc.record(
  {
    common_properties: common,
    connection_properties: fc.record({ received_bytes: u64s, sent_bytes: u64s }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const identifier = fc.record({ node: fc.record({ id: text, cluster: text }), log_name: text }, { requiredKeys: [] });

/** A message as Envoy sends one, some over MAX_DECODE, or bytes that are not quite one. */
const message = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ identifier: fc.option(identifier, { nil: undefined }), http: fc.array(httpEntry, { maxLength: 40 }) })
      .map(logsMessage),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ identifier: fc.option(identifier, { nil: undefined }), tcp: fc.array(tcpEntry, { maxLength: 40 }) })
      .map(logsMessage),
  },
  // Empty entries, the cheapest on the wire: up to 40 of them, across the bound.
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 20, max: 120 })
      .map((n) => logsMessage({ http: Array.from({ length: n }, () => ({})) })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(httpEntry, { minLength: 1, maxLength: 3 }), fc.nat()).map(([http, at]) => {
      const whole = logsMessage({ http });
      return whole.subarray(0, at % whole.length);
    }),
  },
);

/** What the sample metric instance makes of an entry: [value, response_code], as exact integers. */
function expected(kind: 'http' | 'tcp' | undefined, entry: Record<string, unknown>): [bigint, bigint] {
  if (kind !== 'http') return [0n, 200n]; // no request.size, no response.code: the instance's defaults
  const req = entry.request as { request_body_bytes?: string } | undefined;
  const res = entry.response as { response_code?: { value?: number } } | undefined;
  // As Mixer's bridge: a uint64 taken as int64 (Go's conversion), an absent code as 0.
  return [BigInt.asIntN(64, BigInt(req?.request_body_bytes ?? 0)), BigInt(res?.response_code?.value ?? 0)];
}

/**
 * The adapter's answer to a stream of `messages` under `config`, as its
 * bounds define it, and the records of the entries before the first
 * message it refuses.
 */
function oracle(config: MixerConfig, messages: Buffer[]): { code: number; records: [bigint, bigint][] } {
  const records: [bigint, bigint][] = [];
  const ctx = { operatorConfig: () => config, nextDedupId: () => '1' };
  for (const bytes of messages) {
    try {
      prepareMessage(ctx, bytes, MessageBudget.of(MAX_DECODE).maxMessage);
    } catch (err) {
      if (err instanceof MessageTooLargeError) return { code: 8, records };
      if (err instanceof MalformedMessageError) return { code: 3, records };
      throw err;
    }
    const decoded = decodeLogsMessage(bytes);
    for (const e of decoded.entries) records.push(expected(decoded.kind, e as Record<string, unknown>));
  }
  return { code: 0, records };
}

interface JsonRecord {
  value: number | string;
  dimensions: { response_code: number | string };
}

describeWith(['envoy-protos'], 'access-log streams, fuzzed', () => {
  let dir: string;
  let out: string;
  let t: TestAdapter;
  let config: MixerConfig;

  beforeAll(async () => {
    dir = await tempDir('envoy-als-fuzz-');
    const sample = await sampleOperatorConfig(dir);
    const file = path.join(sample.folder, 'sample_operator_config.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(`file_path: ${sample.out}`, `file_path: ${sample.out}\n    format: json`),
    );
    out = sample.out;
    config = await loadOperatorConfig(sample.folder, dir);
    t = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [sample.folder],
      logLevel: 'warn',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      maxDecodeBytes: MAX_DECODE,
    });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function lines(): Promise<string[]> {
    return (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  }

  it('answers every stream as its first refused message says, with a whole record for every entry written', async () => {
    const counted = async () => {
      const page = await scrape(t.adapter.metricsPort!);
      const n = (labels: Record<string, string>) => sample(page, 'mygrpcadapter_access_log_entries_total', labels);
      return {
        received: n({ outcome: 'received' }),
        written: n({ outcome: 'written' }),
        notWritten: n({ outcome: 'not_written' }),
      };
    };
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 5 }), fc.boolean(), async (messages, v2) => {
        const before = (await lines()).length;
        const countedBefore = await counted();
        const call = openAls(t.adapter.address, v2 ? ALS_PATHS.v2 : ALS_PATHS.v3);
        try {
          for (const m of messages) await call.send(m);
          call.stream.end();
          const answer = await call.answer;
          const want = oracle(config, messages);
          expect(answer.code, answer.details).toBe(want.code);
          const got = (await lines()).slice(before).map((l) => {
            const r = JSON.parse(l) as JsonRecord;
            return [BigInt(r.value), BigInt(r.dimensions.response_code)];
          });
          expect(got).toEqual(want.records);
          const countedAfter = await counted();
          const written = countedAfter.written - countedBefore.written;
          expect(written).toBe(got.length);
          // Every entry received is either written or counted as not written.
          expect(countedAfter.received - countedBefore.received).toBe(
            written + countedAfter.notWritten - countedBefore.notWritten,
          );
        } finally {
          call.close();
        }
      }),
      { numRuns: 80 },
    );
    // Still serving.
    const call = openAls(t.adapter.address);
    await call.send(logsMessage({ tcp: [{}] }));
    call.stream.end();
    expect((await call.answer).code).toBe(0);
    call.close();
  }, 120_000);
});

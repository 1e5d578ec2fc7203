// Mixer's path and Envoy's path agree. The sample operator config
// (operatorconfig/, unchanged but for its out.txt) drives one adapter; each
// attribute set goes (a) through the stand-in's Mixer dispatch to the
// adapter's Mixer handle services, as `mygrpcadapter mixer` sends it, and
// (b) through the adapter's Envoy front-ends, as the Envoy-mode stand-in
// and Envoy's own schema (the reference client) encode it. The decisions are
// the same and so are the bytes each call appends to out.txt (text records
// hold no dedup ids or times); the v3, v2 and v2alpha paths answer alike.
// Then the CheckResponse encoder against Envoy's own protos: every HttpStatus
// code, every DirectHttpResponse field, the RPC -> HTTP fallback.
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bag } from '../src/opconfig/attributes.js';
import { loadMixerConfig, type MixerConfig } from '../src/opconfig/config.js';
import { dedupCounters } from '../src/opconfig/rules.js';
import { encodeCheckResponse, type CheckAnswer } from '../src/frontends/envoy/check-response.js';
import { envoyProtos } from '../src/wire/envoy.js';
import { ClientPool } from '../src/tools/mixer/client.js';
import { dispatchCheck, dispatchReport, type DispatchContext } from '../src/tools/mixer/dispatch.js';
import {
  CHECK_VERSIONS,
  checkPath,
  envoyCheck,
  envoyReport,
  LOG_VERSIONS,
  type EnvoyContext,
} from '../src/tools/mixer/envoy-dispatch.js';
import { checkRequestOf } from '../src/tools/mixer/envoy-check-request.js';
import { logKindOf, logsMessageOf } from '../src/tools/mixer/envoy-log-entries.js';
import { encodeObject } from '../src/tools/mixer/envoy-round-trip.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { alsLacking } from './helpers/envoy-als.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { callRaw, envoyReference } from './helpers/envoy-reference.js';
import { CHECK_SETS, REPORT_SETS } from './helpers/envoy-sets.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith, skipUnless } from './helpers/peers.js';
import { waitFor } from './helpers/wait.js';

/** The sets the sample's token rule allows (x-custom-token: abc); it denies the rest. */
const ALLOWED = new Set(['allow', 'grpc', 'no peers, no time', 'IPv6 peers']);

describe('the same attribute sets through Mixer and through Envoy, sample operator config', () => {
  let dir: string;
  let out: string;
  let t: TestAdapter;
  let config: MixerConfig;
  let pool: ClientPool;
  let mixer: DispatchContext;
  let als: string | undefined;
  const envoy = (version: EnvoyContext['version']): EnvoyContext => ({ pool, address: t.adapter.address, version });

  beforeAll(async () => {
    dir = await tempDir('envoy-diff-');
    const sample = await sampleOperatorConfig(dir);
    out = sample.out;
    t = await startTestAdapter({ dataDir: dir, operatorConfig: [sample.folder] });
    config = await loadMixerConfig([sample.folder]);
    pool = new ClientPool();
    mixer = { pool, address: t.adapter.address, nextDedupId: dedupCounters(), recorder: undefined };
    als = await alsLacking(t.adapter.address);
  });
  afterAll(async () => {
    pool?.close();
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const size = (): number => {
    try {
      return statSync(out).size;
    } catch {
      return 0;
    }
  };

  /** What `call` appended to out.txt: a check answers once its decision record is written. */
  async function appendedBy<T>(call: () => Promise<T>): Promise<{ result: T; bytes: Buffer }> {
    const before = size();
    const result = await call();
    return { result, bytes: readFileSync(out).subarray(before) };
  }

  /** Byte-identical, shown as text when not. */
  function sameBytes(actual: Buffer, expected: Buffer): void {
    expect(actual.toString('utf8')).toBe(expected.toString('utf8'));
    expect(actual.equals(expected)).toBe(true);
  }

  async function mixerCheck(set: Bag) {
    const m = await appendedBy(() => dispatchCheck(config, set, mixer));
    expect(m.result.rpcError).toBeUndefined();
    expect(m.result.status.code).toBe(ALLOWED.has(nameOf(set)) ? 0 : status.PERMISSION_DENIED);
    expect(m.bytes.length).toBeGreaterThan(0);
    return { code: m.result.status.code, message: m.result.status.message, bytes: m.bytes };
  }

  const nameOf = (set: Bag): string => Object.entries(CHECK_SETS).find(([, s]) => s === set)![0];

  it.each(Object.entries(CHECK_SETS))(
    'check "%s": one decision and the same record bytes through Mixer and ext_authz v3, v2, v2alpha',
    async (_name, set) => {
      const expected = await mixerCheck(set);
      const answers: unknown[] = [];
      for (const version of CHECK_VERSIONS) {
        const e = await appendedBy(() => envoyCheck(set, envoy(version)));
        expect(e.result.rpcError).toBeUndefined();
        expect(e.result.notSent).toEqual([]);
        expect({ code: e.result.status.code, message: e.result.status.message }).toEqual({
          code: expected.code,
          message: expected.message,
        });
        sameBytes(e.bytes, expected.bytes);
        answers.push(e.result.response);
      }
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
    },
  );

  describeWith(['envoy-protos'], "with Envoy's own protos (the reference client)", () => {
    it.each(Object.entries(CHECK_SETS))(
      'check "%s": the stand-in encodes what Envoy\'s v3 and v2 schemas encode, and those bytes get the same answers and records',
      async (_name, set) => {
        const ref = envoyReference();
        const bytes = encodeObject(envoyProtos().checkRequest, checkRequestOf(set));
        const v3 = ref.type('envoy.service.auth.v3.CheckRequest');
        const v2 = ref.type('envoy.service.auth.v2.CheckRequest');
        const object = ref.decode('envoy.service.auth.v3.CheckRequest', bytes);
        expect(ref.decode('envoy.service.auth.v2.CheckRequest', bytes)).toEqual(object);
        // Envoy's schema, given the same request, writes the same bytes.
        const refBytes = Buffer.from(v3.encode(v3.fromObject(object)).finish());
        expect(refBytes.equals(bytes)).toBe(true);
        expect(Buffer.from(v2.encode(v2.fromObject(object)).finish()).equals(bytes)).toBe(true);

        const expected = await mixerCheck(set);
        for (const version of CHECK_VERSIONS) {
          const e = await appendedBy(() => callRaw(t.adapter.address, checkPath(version), refBytes));
          expect(e.result.code).toBe(0);
          const responseType =
            version === 'v3' ? 'envoy.service.auth.v3.CheckResponse' : 'envoy.service.auth.v2.CheckResponse';
          const answer = ref.decode(responseType, e.result.response!) as {
            status?: { code?: number; message?: string };
          };
          expect({ code: answer.status?.code ?? 0, message: answer.status?.message ?? '' }).toEqual({
            code: expected.code,
            message: expected.message,
          });
          sameBytes(e.bytes, expected.bytes);
        }
      },
    );

    it.each(Object.entries(REPORT_SETS))(
      'report "%s": the stand-in\'s StreamAccessLogsMessage is what Envoy\'s v3 and v2 schemas encode',
      (_name, set) => {
        const ref = envoyReference();
        const bytes = encodeObject(envoyProtos().logsMessage, logsMessageOf(logKindOf(set), [set]));
        const v3 = ref.type('envoy.service.accesslog.v3.StreamAccessLogsMessage');
        const v2 = ref.type('envoy.service.accesslog.v2.StreamAccessLogsMessage');
        const object = ref.decode('envoy.service.accesslog.v3.StreamAccessLogsMessage', bytes);
        expect(ref.decode('envoy.service.accesslog.v2.StreamAccessLogsMessage', bytes)).toEqual(object);
        expect(Buffer.from(v3.encode(v3.fromObject(object)).finish()).equals(bytes)).toBe(true);
        expect(Buffer.from(v2.encode(v2.fromObject(object)).finish()).equals(bytes)).toBe(true);
      },
    );
  });

  /** Reports `sets` through Mixer, then through an access-log stream on each version: the same bytes appended. */
  async function sameReport(sets: Bag[]): Promise<void> {
    const m = await appendedBy(() => dispatchReport(config, sets, mixer));
    expect(m.result.errors).toEqual([]);
    expect(m.bytes.length).toBeGreaterThan(0);
    for (const version of LOG_VERSIONS) {
      const before = size();
      const r = await envoyReport(sets, envoy(version));
      expect(r.notSent).toEqual([]);
      expect(r.streams.map((s) => s.status.name)).toEqual(['OK']);
      // The stream's status need not wait for the records (Envoy reads none): wait for the bytes.
      await waitFor(() => size() >= before + m.bytes.length);
      sameBytes(readFileSync(out).subarray(before), m.bytes);
    }
  }

  it.for(Object.entries(REPORT_SETS))(
    'report "%s": the same metric record bytes through Mixer and an access-log stream (v3, v2)',
    async ([, set], ctx) => {
      skipUnless(als, ctx);
      await sameReport([set]);
    },
  );

  it('report batches: --report_batch_size 3 of one set, and HTTP sets of several kinds in one message', async (ctx) => {
    skipUnless(als, ctx);
    await sameReport([REPORT_SETS.http!, REPORT_SETS.http!, REPORT_SETS.http!]);
    await sameReport(Object.values(REPORT_SETS).filter((s) => s !== REPORT_SETS.tcp));
  });
});

describeWith(['envoy-protos'], "encodeCheckResponse, decoded with Envoy's own protos", () => {
  const ref = () => envoyReference();
  const statusCodes = () => ref().root.lookupEnum('envoy.type.v3.StatusCode').values;
  const v2Name = (n: number): string => ref().root.lookupEnum('envoy.type.StatusCode').valuesById[n]!;
  interface Decoded {
    status?: { code?: number; message?: string };
    denied_response?: {
      status?: { code?: string };
      headers?: { header: { key: string; value: string }; append?: unknown }[];
      body?: string;
    };
    ok_response?: { headers?: { header: { key: string; value: string } }[] };
  }
  const decode = (answer: CheckAnswer, version: 'v3' | 'v2' = 'v3'): Decoded =>
    ref().decode(`envoy.service.auth.${version}.CheckResponse`, encodeCheckResponse(answer));
  const deny = (http: CheckAnswer['http']): CheckAnswer => ({ code: status.PERMISSION_DENIED, message: 'no', http });

  it("carries every HttpStatus code of Envoy's StatusCode enum into denied_response (v3 and v2 names)", () => {
    const codes = Object.entries(statusCodes()).filter(([, n]) => n !== 0);
    expect(codes.length).toBeGreaterThanOrEqual(56);
    for (const [name, n] of codes) {
      const answer = deny({ code: n, body: '', headers: {} });
      expect(decode(answer).denied_response, name).toEqual({ status: { code: name } });
      expect(decode(answer, 'v2').denied_response?.status?.code, name).toBe(v2Name(n));
    }
    // Empty (0): "derive it from the RPC code".
    expect(decode(deny({ code: 0, body: '', headers: {} })).denied_response).toEqual({ status: { code: 'Forbidden' } });
  });

  it('carries every DirectHttpResponse field: code, body, headers (each a replacing header)', () => {
    const answer = deny({
      code: 302,
      body: 'moved <b>here</b>\n',
      headers: { Location: 'https://a/b', 'x-empty': '' },
    });
    expect(decode(answer)).toEqual({
      status: { code: 7, message: 'no' },
      denied_response: {
        status: { code: 'Found' },
        headers: [{ header: { key: 'Location', value: 'https://a/b' } }, { header: { key: 'x-empty', value: '' } }],
        body: 'moved <b>here</b>\n',
      },
      http_response: 'denied_response',
    });
  });

  it("splits Set-Cookie (any case) at commas into one header each, as Mixer's directive did; other headers stay whole", () => {
    const headers = { 'Set-Cookie': 'a=1,b=2; Path=/, c=3', 'WWW-Authenticate': 'Bearer realm="x", error="y"' };
    expect(decode(deny({ code: 401, body: '', headers })).denied_response?.headers).toEqual([
      { header: { key: 'Set-Cookie', value: 'a=1' } },
      { header: { key: 'Set-Cookie', value: 'b=2; Path=/' } },
      { header: { key: 'Set-Cookie', value: ' c=3' } },
      { header: { key: 'WWW-Authenticate', value: 'Bearer realm="x", error="y"' } },
    ]);
    expect(
      decode(deny({ code: 0, body: '', headers: { 'set-cookie': 'x=1,y=2' } })).denied_response?.headers,
    ).toHaveLength(2);
  });

  it('leaves an empty body out, and answers an allow with ok_response (upstream headers when given)', () => {
    expect(decode(deny({ code: 429, body: '', headers: {} })).denied_response).toEqual({
      status: { code: 'TooManyRequests' },
    });
    expect(decode({ code: 0, message: '' })).toEqual({ status: {}, ok_response: {}, http_response: 'ok_response' });
    expect(decode({ code: 0, message: '', upstreamHeaders: { 'x-user': 'me' } })).toEqual({
      status: {},
      ok_response: { headers: [{ header: { key: 'x-user', value: 'me' } }] },
      http_response: 'ok_response',
    });
  });

  // Mixer's status.HTTPStatusFromCode, as its RouteDirective used it when a
  // handler gave no HTTP code.
  const FALLBACK: [keyof typeof status, number][] = [
    ['CANCELLED', 408],
    ['UNKNOWN', 500],
    ['INVALID_ARGUMENT', 400],
    ['DEADLINE_EXCEEDED', 504],
    ['NOT_FOUND', 404],
    ['ALREADY_EXISTS', 409],
    ['PERMISSION_DENIED', 403],
    ['RESOURCE_EXHAUSTED', 429],
    ['FAILED_PRECONDITION', 412],
    ['ABORTED', 409],
    ['OUT_OF_RANGE', 400],
    ['UNIMPLEMENTED', 501],
    ['INTERNAL', 500],
    ['UNAVAILABLE', 503],
    ['DATA_LOSS', 500],
    ['UNAUTHENTICATED', 401],
  ];

  it.each(FALLBACK)('derives the HTTP status of %s without an HTTP code: %i', (name, http) => {
    const code = status[name] as number;
    const expected = ref().root.lookupEnum('envoy.type.v3.StatusCode').valuesById[http];
    for (const answer of [
      { code, message: 'm' },
      { code, message: 'm', http: { code: 0, body: 'b', headers: {} } },
    ]) {
      const decoded = decode(answer);
      expect(decoded.status).toEqual({ code, message: 'm' });
      expect(decoded.denied_response?.status).toEqual({ code: expected });
    }
  });

  it('covers every gRPC code but OK in the fallback table, and answers 500 for a code outside it', () => {
    const all = Object.entries(status).filter(([k, v]) => typeof v === 'number' && k !== 'OK');
    expect(FALLBACK.map(([k]) => k).sort()).toEqual(all.map(([k]) => k).sort());
    expect(decode({ code: 99, message: '' }).denied_response?.status).toEqual({ code: 'InternalServerError' });
  });
});

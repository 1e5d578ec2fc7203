// The ext_authz front-end on the adapter's gRPC port, driven by the sample
// operator config (operatorconfig/), with requests encoded by the reference
// client compiled from Envoy's own protos: the walkthrough's rule decides,
// the decision is recorded as for a Mixer check, and the answer carries an
// explicit HTTP status on a deny; the v3, v2 and v2alpha paths agree.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { httpCheck } from './helpers/envoy-requests.js';

const CHECK_REQUEST = 'envoy.service.auth.v3.CheckRequest';
const CHECK_RESPONSE = 'envoy.service.auth.v3.CheckResponse';

describeWith(['envoy-protos'], 'ext_authz with the sample operator config', () => {
  let dir: string;
  let out: string;
  let t: TestAdapter;

  beforeAll(async () => {
    dir = await tempDir('envoy-authz-');
    const sample = await sampleOperatorConfig(dir);
    out = sample.out;
    t = await startTestAdapter({ dataDir: dir, operatorConfig: [sample.folder] });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function check(request: Record<string, unknown>, path: string = CHECK_PATHS.v3) {
    const ref = envoyReference();
    const result = await callRaw(t.adapter.address, path, ref.encode(CHECK_REQUEST, request));
    return { ...result, answer: result.response && ref.decode(CHECK_RESPONSE, result.response) };
  }

  it('allows a request carrying the handler key, with an ok_response, and records the decision', async () => {
    const { code, answer } = await check(httpCheck({ 'x-custom-token': 'abc' }));
    expect(code).toBe(0);
    expect(answer).toEqual({ status: {}, ok_response: {}, http_response: 'ok_response' });
    const records = await readFile(out, 'utf8');
    expect(records).toContain("Instance: 'icheck.instance.istio-system'");
    expect(records).toContain('Result: OK');
  });

  it('denies a wrong key: Mixer code and message, and a denied_response with HTTP 403', async () => {
    const { code, answer } = await check(httpCheck({ 'x-custom-token': 'wrong' }));
    expect(code).toBe(0);
    expect(answer).toEqual({
      status: { code: 7, message: 'h1.handler.istio-system:Unauthorized...' },
      denied_response: { status: { code: 'Forbidden' } },
      http_response: 'denied_response',
    });
  });

  it('answers the v2 and v2alpha paths with the same bytes as v3', async () => {
    const cases: Record<string, string>[] = [{ 'x-custom-token': 'abc' }, { 'x-custom-token': 'nope' }, {}];
    for (const headers of cases) {
      const [v3, v2, v2alpha] = await Promise.all(
        [CHECK_PATHS.v3, CHECK_PATHS.v2, CHECK_PATHS.v2alpha].map((p) => check(httpCheck(headers), p)),
      );
      expect(v2!.response).toEqual(v3!.response);
      expect(v2alpha!.response).toEqual(v3!.response);
    }
  });

  it('decides a TCP check (no request, network filter) too: no token, denied', async () => {
    const { answer } = await check({ attributes: { source: httpCheck({}).attributes.source } });
    expect(answer).toMatchObject({ status: { code: 7 }, denied_response: { status: { code: 'Forbidden' } } });
  });

  it('answers bytes that are not a CheckRequest with INVALID_ARGUMENT', async () => {
    const { code, details } = await callRaw(t.adapter.address, CHECK_PATHS.v3, Buffer.from([0x0a, 0x05, 0x01]));
    expect(code).toBe(3);
    expect(details).toMatch(/CheckRequest/);
  });
});

describeWith(['envoy-protos'], 'ext_authz and hostile headers', () => {
  let dir: string;
  let out: string;
  let t: TestAdapter;

  beforeAll(async () => {
    dir = await tempDir('envoy-authz-bad-');
    const sample = await sampleOperatorConfig(dir);
    out = sample.out;
    t = await startTestAdapter({ dataDir: dir, operatorConfig: [sample.folder], maxDecodeBytes: 8 * 1024 * 1024 });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function status(request: Record<string, unknown> | Buffer) {
    const ref = envoyReference();
    const bytes = Buffer.isBuffer(request) ? request : ref.encode(CHECK_REQUEST, request);
    const result = await callRaw(t.adapter.address, CHECK_PATHS.v3, bytes);
    const answer = result.response && (ref.decode(CHECK_RESPONSE, result.response) as { status?: { code?: number } });
    return { code: result.code, details: result.details, check: answer?.status?.code ?? 0 };
  }

  it('denies what no key can be, and stays up: many headers, huge values, control characters, joined values', async () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-h${i}`, `v${i}`]));
    for (const headers of [
      { ...many, 'x-custom-token': 'nope' },
      { 'x-custom-token': 'a'.repeat(1024 * 1024) },
      { 'x-custom-token': 'ab\u0000c' },
      { 'x-custom-token': 'abc,abc' },
    ]) {
      expect(await status(httpCheck(headers))).toMatchObject({ code: 0, check: 7 });
    }
    expect(await status(httpCheck({ 'x-custom-token': 'abc' }))).toMatchObject({ code: 0, check: 0 });
    const records = await readFile(out, 'utf8');
    expect(records).toContain('reason: subject property custom_token_header holds control characters');
  });

  it('reads a header value that is not UTF-8 as Envoy sent it, and denies it', async () => {
    const ref = envoyReference();
    // The token's bytes patched to 0xff after encoding: a string field Envoy would never send.
    const bytes = ref.encode(CHECK_REQUEST, httpCheck({ 'x-custom-token': 'abz' }));
    const at = bytes.indexOf(Buffer.from('abz'));
    bytes[at + 2] = 0xff;
    expect(await status(bytes)).toMatchObject({ code: 0, check: 7 });
  });

  it('refuses a request whose decoding would pass --max-decode-bytes with RESOURCE_EXHAUSTED, before decoding it', async () => {
    const small = await startTestAdapter({
      dataDir: dir,
      operatorConfig: [path.join(dir, 'operatorconfig')],
      maxDecodeBytes: 64 * 1024,
    });
    try {
      const many = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, 'v']));
      const ref = envoyReference();
      const result = await callRaw(small.adapter.address, CHECK_PATHS.v3, ref.encode(CHECK_REQUEST, httpCheck(many)));
      expect(result.code).toBe(8);
      expect(result.details).toMatch(/--max-decode-bytes/);
    } finally {
      await small.stop();
    }
  });
});

// The HTTP answers an operator configures in Params: a missing or malformed
// token answers UNAUTHENTICATED with a 401 and WWW-Authenticate (auth_realm,
// auth_scheme), a wrong key PERMISSION_DENIED with a 403 carrying deny_body
// and deny_headers. Through real Mixer 1.6.14 (realmixer) they become the
// route directive Envoy's Mixer filter applied; through the ext_authz
// front-end, Envoy's denied_response. Audit mode lets every request through
// and records what enforcing would have answered.
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECT_HTTP_RESPONSE_TYPE_URL, protoRoot } from '../src/wire/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { callRaw, CHECK_PATHS, envoyReference } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { tempDir } from './helpers/opconfig.js';
import { describeWith } from './helpers/peers.js';
import { realmixer } from './helpers/shared.js';
import { ROOT } from './helpers/cli.js';
import { str } from './helpers/values.js';

const run = promisify(execFile);

/** Params lines added under the sample handler's auth_key (YAML, two-space indent under params). */
const ANSWER_PARAMS = `    auth_realm: mesh
    deny_body: go away
    deny_headers:
      x-why: denied
      set-cookie: 'a=1,b=2'
`;

async function withAnswerParams(file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(/^( {4}auth_key: .*\n)/m, `$1${ANSWER_PARAMS}`));
}

describe('through the Mixer handle service', () => {
  let dir: string;
  let t: TestAdapter;
  beforeAll(async () => {
    dir = await tempDir('answers-');
    t = await startTestAdapter({ dataDir: dir, metricsPort: 0, metricsHost: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (token: string | undefined, params: Record<string, unknown>) =>
    t.clients.authorization({
      instance: {
        name: 'icheck.instance.istio-system',
        subject: { properties: token === undefined ? {} : { custom_token_header: str(token) } },
      },
      adapter_config: paramsAny({ file_path: 'a.txt', ...params }),
    });

  function directResponse(details: { type_url: string; value: Buffer }[]) {
    expect(details).toHaveLength(1);
    expect(details[0]!.type_url).toBe(DIRECT_HTTP_RESPONSE_TYPE_URL);
    const type = protoRoot().lookupType('istio.policy.v1beta1.DirectHttpResponse');
    return type.toObject(type.decode(details[0]!.value), { enums: String });
  }

  it('answers a missing, empty or malformed token UNAUTHENTICATED with a 401 and WWW-Authenticate', async () => {
    const params = { auth_key: 'k', auth_realm: 'mesh', auth_scheme: 'Basic' };
    for (const token of [undefined, '', 'a\r\nb']) {
      const res = await check(token, params);
      expect(res.status?.code, String(token)).toBe(16);
      expect(res.status?.message).toBe('Unauthorized...');
      expect(directResponse(res.status!.details as never)).toEqual({
        code: 'Unauthorized',
        headers: { 'www-authenticate': 'Basic realm="mesh"' },
      });
    }
  });

  it('answers a wrong key PERMISSION_DENIED with the 403 body and headers of Params', async () => {
    const res = await check('nope', { auth_key: 'k', deny_body: 'go away', deny_headers: { 'X-Why': 'denied' } });
    expect(res.status?.code).toBe(7);
    expect(directResponse(res.status!.details as never)).toEqual({
      code: 'Forbidden',
      body: 'go away',
      headers: { 'x-why': 'denied' },
    });
  });

  it('keeps the walkthrough answers when Params ask for no HTTP answer', async () => {
    for (const token of [undefined, '', 'nope']) {
      const res = await check(token, { auth_key: 'k' });
      expect(res.status).toMatchObject({ code: 7, message: 'Unauthorized...', details: [] });
    }
  });

  it('refuses Params whose answers no client could read', async () => {
    for (const params of [
      { auth_key: 'k', auth_realm: 'a"b' },
      { auth_key: 'k', auth_realm: 'r', auth_scheme: 'Bad Scheme' },
      { auth_key: 'k', deny_headers: { 'bad name': 'x' } },
      { auth_key: 'k', deny_headers: { ok: 'line\nbreak' } },
      { auth_key: 'k', mode: 'observe' },
    ]) {
      await expect(check('k', params), JSON.stringify(params)).rejects.toMatchObject({ code: 3 });
    }
  });

  it('audit mode: lets a wrong key through, records and counts what enforcing would have answered', async () => {
    const res = await check('nope', { auth_key: 'k', mode: 'audit', file_path: 'audit.txt' });
    expect(res.status?.code ?? 0).toBe(0);
    // Cached as a denial would be (not at all): every would-be denial is seen.
    expect(res.valid_use_count).toBe(0);
    const record = await readFile(path.join(dir, 'audit.txt'), 'utf8');
    expect(record).toMatch(
      /Result: OK, reason: the custom_token_header token does not match auth_key, audit: would be PERMISSION_DENIED/,
    );
    const allowed = await check('k', { auth_key: 'k', mode: 'audit', file_path: 'audit.txt' });
    expect(allowed.status?.code ?? 0).toBe(0);
    const metrics = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /decisions_total\{[^}]*decision="audit_deny",reason="wrong_token",frontend="mixer",key=""\} 1/,
    );
  });
});

describeWith(['realmixer'], 'through real Mixer 1.6.14', () => {
  let dir: string;
  let t: TestAdapter;
  let config: string[];
  beforeAll(async () => {
    dir = await tempDir('answers-realmixer-');
    t = await startTestAdapter({ dataDir: dir });
    const op = path.join(dir, 'op.yaml');
    await writeFile(op, await readFile(path.join(ROOT, 'examples/local/operator_local.yaml')));
    await withAnswerParams(op);
    config = [
      ...['attributes', 'metric', 'authorization', 'mygrpcadapter'].map((f) => `operatorconfig/${f}.yaml`),
      op,
    ].flatMap((c) => ['--config', c]);
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function mixerCheck(headers: string): Promise<string> {
    const { stdout } = await run(
      await realmixer(),
      ['check', ...config, '--address', t.adapter.address, '--stringmap_attributes', `request.headers=${headers}`],
      { cwd: ROOT },
    );
    return stdout;
  }

  it('turns the 403 into the route directive Envoy applied: code, body, headers, Set-Cookie split', async () => {
    const out = await mixerCheck('x-custom-token:wrong');
    expect(out).toContain('Check status was PERMISSION_DENIED (h1.handler.istio-system:Unauthorized...)');
    const directive = JSON.parse(/Route directive: (.*)/.exec(out)![1]!) as {
      responseHeaderOperations: { name: string; value: string }[];
    };
    // Mixer walks the headers map in Go's map order: compare them as a set.
    const byNameValue = (a: { name: string; value: string }, b: { name: string; value: string }) =>
      `${a.name}=${a.value}`.localeCompare(`${b.name}=${b.value}`);
    directive.responseHeaderOperations.sort(byNameValue);
    expect(directive).toEqual({
      responseHeaderOperations: [
        { name: 'set-cookie', value: 'a=1', operation: 'APPEND' },
        { name: 'set-cookie', value: 'b=2', operation: 'APPEND' },
        { name: 'x-why', value: 'denied' },
      ],
      directResponseCode: 403,
      directResponseBody: 'go away',
    });
  });

  it('turns the 401 into a directive with WWW-Authenticate', async () => {
    const out = await mixerCheck('other:x');
    expect(out).toContain('Check status was UNAUTHENTICATED (h1.handler.istio-system:Unauthorized...)');
    expect(JSON.parse(/Route directive: (.*)/.exec(out)![1]!)).toEqual({
      responseHeaderOperations: [{ name: 'www-authenticate', value: 'Bearer realm="mesh"' }],
      directResponseCode: 401,
    });
  });
});

describeWith(['envoy-protos'], 'through the ext_authz front-end', () => {
  let dir: string;
  let t: TestAdapter;
  beforeAll(async () => {
    dir = await tempDir('answers-envoy-');
    const { folder } = await sampleOperatorConfig(dir);
    await withAnswerParams(path.join(folder, 'sample_operator_config.yaml'));
    t = await startTestAdapter({ dataDir: dir, operatorConfig: [folder] });
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function check(headers: Record<string, string>) {
    const ref = envoyReference();
    const { response } = await callRaw(
      t.adapter.address,
      CHECK_PATHS.v3,
      ref.encode('envoy.service.auth.v3.CheckRequest', httpCheck(headers)),
    );
    return ref.decode('envoy.service.auth.v3.CheckResponse', response!);
  }

  it('answers the 401 as denied_response, with WWW-Authenticate', async () => {
    expect(await check({})).toEqual({
      status: { code: 16, message: 'h1.handler.istio-system:Unauthorized...' },
      denied_response: {
        status: { code: 'Unauthorized' },
        headers: [{ header: { key: 'www-authenticate', value: 'Bearer realm="mesh"' } }],
      },
      http_response: 'denied_response',
    });
  });

  it('answers the 403 with its body, its headers and each cookie on its own', async () => {
    expect(await check({ 'x-custom-token': 'wrong' })).toEqual({
      status: { code: 7, message: 'h1.handler.istio-system:Unauthorized...' },
      denied_response: {
        status: { code: 'Forbidden' },
        headers: [
          { header: { key: 'x-why', value: 'denied' } },
          { header: { key: 'set-cookie', value: 'a=1' } },
          { header: { key: 'set-cookie', value: 'b=2' } },
        ],
        body: 'go away',
      },
      http_response: 'denied_response',
    });
  });
});

// No secret at rest: `--record` writes the calls with auth_key, the presented
// token and Envoy's credential header values masked (searched for in the
// file's text, its hex and every base64 field decoded), each line saying
// what was masked; replay names the calls that depended on a masked secret
// and does not count them as differences. --record-secrets keeps everything,
// warns, and then every call replays.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../src/recording/calls.js';
import { decodeView } from '../src/recording/calls.js';
import { envoyProtos } from '../src/wire/envoy.js';
import { METRIC_METHOD_PATH, PARAMS_MESSAGE, protoRoot } from '../src/wire/load.js';
import { startQuietAdapter, startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { runBin } from './helpers/cli.js';
import { callRaw, CHECK_PATHS } from './helpers/envoy-reference.js';
import { sampleOperatorConfig } from './helpers/envoy-opconfig.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { tempDir } from './helpers/opconfig.js';
import { int, str } from './helpers/values.js';

const KEY = 'k3y-0f-the-handler-7c1e';
/** Credentials an Envoy check carries besides the token header. */
const BEARER = 'Bearer eyJhbGciOiJub25lIn0.c2VjcmV0LWNsYWltcw';
const COOKIE = 'session=c00kie-v4lue-5e55ion';
const PROXY = 'Basic cHJveHktdXNlcjpwcm94eS1wYXNz';
const API_KEY = 'api-k3y-of-some-other-header';
const SECRETS = [KEY, BEARER, COOKIE, PROXY, API_KEY];

let work: string;
let opConfig: string;

beforeAll(async () => {
  work = await tempDir('record-secrets-');
  const sample = await sampleOperatorConfig(work);
  opConfig = sample.folder;
  // The sample handler's key, made long enough that finding it by chance is impossible.
  const operator = path.join(opConfig, 'sample_operator_config.yaml');
  const yaml = await readFile(operator, 'utf8');
  expect(yaml).toContain('auth_key: abc\n');
  await writeFile(operator, yaml.replace('auth_key: abc\n', `auth_key: ${KEY}\n`));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const checkBytes = (request: Record<string, unknown>) => {
  const type = envoyProtos().checkRequest;
  return Buffer.from(type.encode(type.fromObject(request)).finish());
};

/**
 * The same calls, one after another, to an adapter recording into `file`:
 * 1 a report with a keyed handler, 2-3 checks with the right and a wrong
 * token, 4 a check of a handler without a key, 5 bytes that are not
 * protobuf but hold the key, 6 an Envoy check with credentials, 7 one with
 * only harmless headers (v2 path).
 */
async function recordCalls(file: string, recordSecrets: boolean): Promise<{ logs: string }> {
  const t: TestAdapter = await startTestAdapter({
    dataDir: work,
    operatorConfig: [opConfig],
    record: file,
    recordSecrets,
    logLevel: 'info',
  });
  try {
    const keyed = paramsAny({ file_path: 'mixer.txt', auth_key: KEY });
    await t.clients.metric({ instances: [{ name: 'm', value: int(3) }], adapter_config: keyed, dedup_id: '1' });
    for (const token of [KEY, 'wrong-token-value']) {
      await t.clients.authorization({
        instance: { name: 'a', subject: { user: 'u', properties: { custom_token_header: str(token) } } },
        adapter_config: keyed,
        dedup_id: '2',
      });
    }
    await t.clients.authorization({
      instance: { name: 'a', subject: { properties: { custom_token_header: str(KEY) } } },
      adapter_config: paramsAny({ file_path: 'mixer.txt' }),
    });
    // A length that runs past the end: INVALID_ARGUMENT, and the key is in the bytes.
    const broken = Buffer.concat([Buffer.from([0x12, 0xff, 0x01]), Buffer.from(KEY)]);
    expect((await callRaw(t.adapter.address, METRIC_METHOD_PATH, broken)).code).toBe(3);
    const credentials = {
      'x-custom-token': KEY,
      authorization: BEARER,
      cookie: COOKIE,
      'proxy-authorization': PROXY,
      'x-api-key': API_KEY,
      'user-agent': 'curl/8.5.0',
    };
    expect((await callRaw(t.adapter.address, CHECK_PATHS.v3, checkBytes(httpCheck(credentials)))).code).toBe(0);
    expect((await callRaw(t.adapter.address, CHECK_PATHS.v2, checkBytes(httpCheck({})))).code).toBe(0);
  } finally {
    await t.stop();
  }
  return { logs: t.logs() };
}

const linesOf = async (file: string): Promise<RecordedCall[]> =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RecordedCall);

/** Every string in `value` (at any depth) that decodes as base64, decoded. */
function base64Fields(value: unknown): Buffer[] {
  if (typeof value === 'string') return /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? [Buffer.from(value, 'base64')] : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(base64Fields);
}

/** Which of SECRETS appear in the file: as text, as hex, or inside any base64 field. */
async function secretsIn(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  const decoded = (await linesOf(file)).flatMap(base64Fields);
  return SECRETS.filter((secret) => {
    const hex = Buffer.from(secret).toString('hex');
    return (
      text.includes(secret) ||
      text.toLowerCase().includes(hex) ||
      decoded.some((b) => b.includes(secret) || b.toString('hex').includes(hex))
    );
  });
}

const AUTHZ = '/authorization.HandleAuthorizationService/HandleAuthorization';

describe('--record (secrets masked, the default)', () => {
  let file: string;
  let lines: RecordedCall[];

  beforeAll(async () => {
    file = path.join(work, 'masked.jsonl');
    await recordCalls(file, false);
    lines = await linesOf(file);
  });

  it('holds no auth_key, token or credential header value, and is readable by its owner only', async () => {
    expect(lines).toHaveLength(7);
    expect(await secretsIn(file)).toEqual([]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('says on each line whether and what it masked', () => {
    expect(lines.map((l) => [l.method, l.secrets, l.masked])).toEqual([
      [METRIC_METHOD_PATH, 'masked', ['auth_key']],
      [AUTHZ, 'masked', ['custom_token_header', 'auth_key']],
      [AUTHZ, 'masked', ['custom_token_header', 'auth_key']],
      [AUTHZ, 'masked', ['custom_token_header']],
      [METRIC_METHOD_PATH, 'masked', ['request']],
      [
        CHECK_PATHS.v3,
        'masked',
        [
          'header x-custom-token',
          'header authorization',
          'header cookie',
          'header proxy-authorization',
          'header x-api-key',
        ],
      ],
      [CHECK_PATHS.v2, 'masked', []],
    ]);
    // The answers are recorded as they were: an allow, then denials.
    expect(lines.map((l) => l.status.name)).toEqual(['OK', 'OK', 'OK', 'OK', 'INVALID_ARGUMENT', 'OK', 'OK']);
  });

  it('masks only the secrets: the rest of the request is what was sent', () => {
    const params = protoRoot().lookupType(PARAMS_MESSAGE);
    const report = lines[0]!.view as { instances: unknown[]; adapter_config: { value: string }; dedup_id: string };
    expect(report.dedup_id).toBe('1');
    expect(report.instances).toHaveLength(1);
    expect(params.toObject(params.decode(Buffer.from(report.adapter_config.value, 'base64')))).toEqual({
      file_path: 'mixer.txt',
      auth_key: '***',
    });
    expect(lines[1]!.view).toMatchObject({
      instance: { subject: { user: 'u', properties: { custom_token_header: { string_value: '***' } } } },
    });
    const headers = (lines[5]!.view as { attributes: { request: { http: { headers: Record<string, string> } } } })
      .attributes.request.http.headers;
    expect(headers).toEqual({
      ':authority': 'reviews:9080',
      ':method': 'GET',
      ':path': '/reviews/1',
      'x-custom-token': '***',
      authorization: '***',
      cookie: '***',
      'proxy-authorization': '***',
      'x-api-key': '***',
      'user-agent': 'curl/8.5.0',
    });
    // Harmless headers only: the request is recorded byte for byte.
    expect(Buffer.from(lines[6]!.request, 'base64')).toEqual(checkBytes(httpCheck({})));
    expect(decodeView(CHECK_PATHS.v2, 'request', Buffer.from(lines[6]!.request, 'base64'))).toEqual(lines[6]!.view);
  });

  it('replays: the calls that depended on a masked secret are named, not sent and not counted as different', async () => {
    const target = await startQuietAdapter(work, { operatorConfig: [opConfig] });
    try {
      const r = await runBin(['replay', file, '--address', target.address]);
      expect(r.stderr).toBe('');
      const secret =
        'unreproducible: not replayed: the decision compares the token with auth_key, which was masked when recorded';
      expect(r.stdout.split('\n')).toEqual([
        `${file}:2 ${AUTHZ}: ${secret}`,
        `${file}:3 ${AUTHZ}: ${secret}`,
        `${file}:5 ${METRIC_METHOD_PATH}: unreproducible: not replayed: its request was not readable protobuf and was left out when recorded`,
        `${file}:6 ${CHECK_PATHS.v3}: unreproducible: not replayed: the rules may read what was masked when recorded ` +
          '(header x-custom-token, header authorization, header cookie, header proxy-authorization, header x-api-key)',
        `replayed 7 calls to ${target.address}: 3 same, 0 different, 0 without a recorded answer, 4 not replayed (secrets masked)`,
        '',
      ]);
      expect(r.code).toBe(0);
    } finally {
      await target.stop();
    }
  });
});

describe('--record-secrets', () => {
  let file: string;
  let logs: string;

  beforeAll(async () => {
    file = path.join(work, 'kept.jsonl');
    ({ logs } = await recordCalls(file, true));
  });

  it('keeps every secret, says so on each line, and warns at start', async () => {
    expect(await secretsIn(file)).toEqual(SECRETS);
    const lines = await linesOf(file);
    expect(lines.map((l) => l.secrets)).toEqual(Array(7).fill('kept'));
    expect(lines.every((l) => !('masked' in l))).toBe(true);
    expect(logs).toContain(`"record":"${file}"`);
    expect(logs).toMatch(/"level":"warn",[^\n]*"msg":"--record-secrets: the recording keeps auth_key values/);
  });

  it('replays every call to the same answer', async () => {
    const target = await startQuietAdapter(work, { operatorConfig: [opConfig] });
    try {
      const r = await runBin(['replay', file, '--address', target.address]);
      expect(r.stdout).toBe(
        `replayed 7 calls to ${target.address}: 7 same, 0 different, 0 without a recorded answer\n`,
      );
      expect(r.code).toBe(0);
    } finally {
      await target.stop();
    }
  });

  it('is refused without --record', async () => {
    const r = await runBin(['0', '--record-secrets']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--record-secrets needs --record');
  });
});

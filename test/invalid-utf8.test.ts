// Strings that are not valid UTF-8, over loopback: refused with
// INVALID_ARGUMENT naming the field (never recorded with U+FFFD in their
// place), except the token, whose bytes are compared as they are.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, protoRoot, serviceDefinitions } from '../src/wire/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny, rawCall, type RawAnswer } from './helpers/clients.js';
import { str } from './helpers/values.js';

let dir: string;
let t: TestAdapter;
let client: grpc.Client;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'invalid-utf8-'));
  t = await startTestAdapter({ dataDir: dir, format: 'json', logLevel: 'warn' });
  client = new grpc.Client(`127.0.0.1:${t.adapter.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Encodes `request`, then, inside the encoded string `marked`, swaps each
 * `~` for the next byte of `bytes` (so lengths stay right): a string with
 * bytes that no protobuf library would write.
 */
function withBytes(message: string, request: object, marked: string, bytes: number[]): Buffer {
  const type = protoRoot().lookupType(message);
  const buf = Buffer.from(type.encode(type.fromObject(request)).finish());
  const at = buf.indexOf(Buffer.from(marked));
  expect(at).toBeGreaterThanOrEqual(0);
  let next = 0;
  for (let i = at; i < at + Buffer.byteLength(marked); i++) if (buf[i] === 0x7e) buf[i] = bytes[next++]!;
  expect(next).toBe(bytes.length);
  return buf;
}

const metricConfig = paramsAny({ file_path: 'metric.jsonl' });
const metric = (instance: object, marked: string, bytes: number[]): Promise<RawAnswer> =>
  rawCall(
    client,
    METRIC_METHOD_PATH,
    withBytes('metric.HandleMetricRequest', { instances: [instance], adapter_config: metricConfig }, marked, bytes),
  );

const invalid = (field: string): RawAnswer => ({
  code: grpc.status.INVALID_ARGUMENT,
  details: `request: ${field}: string is not valid UTF-8`,
});

describe('invalid UTF-8 in a metric instance', () => {
  it('is refused naming the field: a dimension value, a dimension key, the instance name', async () => {
    expect(await metric({ name: 'm', dimensions: { source: str('bad~~') } }, 'bad~~', [0xff, 0xfe])).toEqual(
      invalid('instances[0].dimensions["source"].string_value'),
    );
    expect(await metric({ name: 'm', dimensions: { 'key~': str('v') } }, 'key~', [0xc0])).toEqual(
      invalid('instances[0].dimensions key'),
    );
    expect(await metric({ name: 'name~', value: str('v') }, 'name~', [0xff])).toEqual(invalid('instances[0].name'));
    const dns = { dns_name_value: { value: 'host~' } };
    expect(await metric({ name: 'm', monitored_resource_dimensions: { pod: dns } }, 'host~', [0xed])).toEqual(
      invalid('instances[0].monitored_resource_dimensions["pod"].dns_name_value.value'),
    );
  });

  it('is refused on the fallback decoder too (a request with an unknown field)', async () => {
    const type = protoRoot().lookupType('metric.HandleMetricRequest');
    const request = { instances: [{ name: 'm', dimensions: { source: str('src~') } }], adapter_config: metricConfig };
    const known = withBytes('metric.HandleMetricRequest', request, 'src~', [0xff]);
    const unknownField = Buffer.from([0xa0, 0x06, 0x01]); // field 100, varint 1: not in the schema
    const bytes = Buffer.concat([unknownField, known]); // first, so the fast decoder falls back before the string
    expect(type.decode(bytes)).toBeTruthy(); // protobufjs alone would take it, with U+FFFD
    expect(await rawCall(client, METRIC_METHOD_PATH, bytes)).toEqual(
      invalid('instances[0].dimensions["source"].string_value'),
    );
  });

  it('writes nothing for a refused call; valid multi-byte UTF-8 (and U+FFFD itself) passes unchanged', async () => {
    const text = 'h\u00e9llo \ufffd \u{1f600}~';
    expect(await metric({ name: 'm', dimensions: { s: str(text) } }, text, [0x21])).toEqual({ ok: Buffer.alloc(0) });
    const lines = (await readFile(path.join(dir, 'metric.jsonl'), 'utf8')).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { dimensions: object }).dimensions)).toEqual([
      { s: 'h\u00e9llo \ufffd \u{1f600}!' },
    ]);
  });
});

describe('invalid UTF-8 in an authorization instance', () => {
  const checkResult = serviceDefinitions().authorization.HandleAuthorization.responseDeserialize;
  const check = async (request: object, marked: string, bytes: number[]) => {
    const answer = await rawCall(
      client,
      AUTHORIZATION_METHOD_PATH,
      withBytes('authorization.HandleAuthorizationRequest', request, marked, bytes),
    );
    return 'ok' in answer ? checkResult(answer.ok).status : answer;
  };
  const subject = (token: string) => ({ properties: { custom_token_header: str(token) } });

  it('a token is compared byte for byte: 61 FF 62, 61 FE 62, 61 C0 AF 62 do not match auth_key "a\\uFFFDb"', async () => {
    const adapter_config = paramsAny({ auth_key: 'a\ufffdb', file_path: 'auth.jsonl' });
    for (const bytes of [[0xff], [0xfe], [0xc0, 0xaf]]) {
      const token = 'a' + '~'.repeat(bytes.length) + 'b';
      expect(await check({ instance: { name: 'i', subject: subject(token) }, adapter_config }, token, bytes)).toEqual({
        code: grpc.status.PERMISSION_DENIED,
        message: 'Unauthorized...',
        details: [],
      });
    }
    // The key's own UTF-8 bytes (EF BF BD) match.
    const token = 'a~~~b';
    const utf8 = [0xef, 0xbf, 0xbd];
    expect(
      await check({ instance: { name: 'i', subject: subject(token) }, adapter_config }, token, utf8),
    ).toMatchObject({ code: grpc.status.OK });
  });

  it('a bad token is recorded masked; a bad byte elsewhere (action.path, subject.user) is refused naming it', async () => {
    const adapter_config = paramsAny({ auth_key: 'k', file_path: 'auth2.jsonl' });
    const pathRequest = { instance: { name: 'i', subject: subject('tok~'), action: { path: '/p~' } }, adapter_config };
    expect(await check(pathRequest, '/p~', [0xff])).toEqual(invalid('instance.action.path'));
    expect(await check({ instance: { name: 'i', subject: { user: 'u~' } }, adapter_config }, 'u~', [0x80])).toEqual(
      invalid('instance.subject.user'),
    );
    const tokenRequest = { instance: { name: 'i', subject: subject('tok~') }, adapter_config };
    expect(await check(tokenRequest, 'tok~', [0xff])).toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    const text = await readFile(path.join(dir, 'auth2.jsonl'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(text)).toMatchObject({
      subject: { properties: { custom_token_header: '***' } },
      decision: { reason: 'the custom_token_header token does not match auth_key' },
    });
  });
});

// What --record masks, on hand-made wire bytes: every occurrence of a secret
// (repeated fields merge or override), map entries in either field order,
// header names in any case, and every byte that is not a secret kept as it
// was, unknown fields included.
import { describe, expect, it } from 'vitest';
import { decodeView, encodeRequest } from '../src/recording/calls.js';
import { MASK, maskSecrets, unreproducible } from '../src/recording/mask.js';
import { editFields } from '../src/recording/wire-edit.js';
import { envoyProtos } from '../src/wire/envoy.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, PARAMS_MESSAGE, protoRoot } from '../src/wire/load.js';
import { paramsAny } from './helpers/clients.js';
import { CHECK_PATHS } from './helpers/envoy-reference.js';
import { httpCheck } from './helpers/envoy-requests.js';
import { str } from './helpers/values.js';

/** A length-delimited field: tag, one-byte length, bytes. */
const len = (field: number, bytes: Buffer | string): Buffer => {
  const b = Buffer.from(bytes);
  expect(b.length).toBeLessThan(128);
  return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
};
const params = (bytes: Buffer) => Buffer.concat([len(1, 'type.googleapis.com/' + PARAMS_MESSAGE), len(2, bytes)]);
const paramsOf = (request: Buffer, method: string) => {
  const view = decodeView(method, 'request', request) as { adapter_config: { value: string } };
  const type = protoRoot().lookupType(PARAMS_MESSAGE);
  return type.toObject(type.decode(Buffer.from(view.adapter_config.value, 'base64')));
};

describe('Mixer requests', () => {
  it('masks every auth_key of repeated adapter_config fields and Params fields, keeping the rest byte for byte', () => {
    // Two adapter_configs (they merge) and, in the second, auth_key twice (the last wins); an unknown varint field 9.
    const unknown = Buffer.from([9 << 3, 0x2a]);
    const request = Buffer.concat([
      len(2, params(Buffer.concat([len(1, 'a.txt'), len(2, 'first-key')]))),
      unknown,
      len(2, params(Buffer.concat([len(2, 'second-key'), len(1, 'b.txt'), len(2, 'third-key')]))),
      len(3, '7'),
    ]);
    const { bytes, masked } = maskSecrets(METRIC_METHOD_PATH, request);
    expect(masked).toEqual(['auth_key']);
    for (const key of ['first-key', 'second-key', 'third-key']) expect(bytes.includes(key)).toBe(false);
    expect(bytes).toEqual(
      Buffer.concat([
        len(2, params(Buffer.concat([len(1, 'a.txt'), len(2, MASK)]))),
        unknown,
        len(2, params(Buffer.concat([len(2, MASK), len(1, 'b.txt'), len(2, MASK)]))),
        len(3, '7'),
      ]),
    );
    expect(paramsOf(bytes, METRIC_METHOD_PATH)).toEqual({ file_path: 'b.txt', auth_key: MASK });
  });

  it('leaves a request without secrets as it is (the same bytes), an empty auth_key included', () => {
    const request = encodeRequest(METRIC_METHOD_PATH, { instances: [], adapter_config: paramsAny({ file_path: 'x' }) });
    expect(maskSecrets(METRIC_METHOD_PATH, request)).toEqual({ bytes: request, masked: [] });
    const emptyKey = Buffer.concat([len(2, params(len(2, '')))]);
    expect(maskSecrets(METRIC_METHOD_PATH, emptyKey)).toEqual({ bytes: emptyKey, masked: [] });
  });

  it('masks the token property of a check, its map entry read in either field order', () => {
    const value = len(1, 'presented-token'); // Value{string_value}
    const entry = (first: Buffer, second: Buffer) => len(3, Buffer.concat([first, second]));
    const subject = Buffer.concat([
      len(1, 'user'),
      entry(len(1, 'custom_token_header'), len(2, value)),
      entry(len(2, value), len(1, 'custom_token_header')),
      entry(len(1, 'other'), len(2, value)),
    ]);
    const request = len(1, len(1, subject));
    const { bytes, masked } = maskSecrets(AUTHORIZATION_METHOD_PATH, request);
    expect(masked).toEqual(['custom_token_header']);
    const view = decodeView(AUTHORIZATION_METHOD_PATH, 'request', bytes) as {
      instance: { subject: { properties: Record<string, unknown> } };
    };
    expect(view.instance.subject.properties).toEqual({
      custom_token_header: { string_value: MASK, value: 'string_value' },
      other: { string_value: 'presented-token', value: 'string_value' },
    });
    // The one entry that is not the token is still in the bytes.
    expect(bytes.toString('latin1').split('presented-token')).toHaveLength(2);
  });

  it('masks a check built as Mixer builds it, token and key', () => {
    const request = encodeRequest(AUTHORIZATION_METHOD_PATH, {
      instance: { name: 'i', subject: { properties: { custom_token_header: str('tok-1') } } },
      adapter_config: paramsAny({ file_path: 'o.txt', auth_key: 'key-1' }),
    });
    const { bytes, masked } = maskSecrets(AUTHORIZATION_METHOD_PATH, request);
    expect(masked).toEqual(['custom_token_header', 'auth_key']);
    expect(bytes.includes('tok-1') || bytes.includes('key-1')).toBe(false);
    expect(paramsOf(bytes, AUTHORIZATION_METHOD_PATH)).toEqual({ file_path: 'o.txt', auth_key: MASK });
  });

  it('leaves out an adapter_config value that is not Params, and a request that is not protobuf', () => {
    const other = Buffer.concat([len(1, 'type.googleapis.com/other.Message'), len(2, len(2, 'maybe-a-key'))]);
    const { bytes, masked } = maskSecrets(METRIC_METHOD_PATH, len(2, other));
    expect(masked).toEqual(['adapter_config']);
    expect(bytes.includes('maybe-a-key')).toBe(false);
    expect(bytes.includes('other.Message')).toBe(true);
    const notParams = len(2, params(Buffer.from([0x12, 0x30, 0x41])));
    expect(maskSecrets(METRIC_METHOD_PATH, notParams).masked).toEqual(['adapter_config']);
    const broken = Buffer.concat([Buffer.from([0x12, 0x7f]), Buffer.from('k')]);
    expect(maskSecrets(METRIC_METHOD_PATH, broken)).toEqual({ bytes: Buffer.alloc(0), masked: ['request'] });
    expect(maskSecrets('/some.Service/Method', len(1, 'x'))).toEqual({ bytes: Buffer.alloc(0), masked: ['request'] });
  });
});

describe('Envoy checks', () => {
  const encode = (request: Record<string, unknown>) => {
    const type = envoyProtos().checkRequest;
    return Buffer.from(type.encode(type.fromObject(request)).finish());
  };
  const headersOf = (bytes: Buffer) =>
    (decodeView(CHECK_PATHS.v3, 'request', bytes) as { attributes: { request: { http: Record<string, unknown> } } })
      .attributes.request.http;

  it('masks every header value off the allow-list, whatever the case of its name, and the body', () => {
    const request = encode(
      httpCheck({ Authorization: 'Bearer b', 'X-Token': 't', 'User-Agent': 'curl', 'x-empty': '' }, {}),
    );
    const withBody = encode({
      attributes: { request: { http: { headers: { accept: '*/*' }, body: 'user=a&password=p', raw_body: 'cmF3' } } },
    });
    const { bytes, masked } = maskSecrets(CHECK_PATHS.v3, request);
    expect(masked).toEqual(['header authorization', 'header x-token']);
    expect(headersOf(bytes)).toMatchObject({
      headers: {
        ':authority': 'reviews:9080',
        Authorization: MASK,
        'X-Token': MASK,
        'User-Agent': 'curl',
        'x-empty': '',
      },
      path: '/reviews/1',
    });
    const body = maskSecrets(CHECK_PATHS.v2alpha, withBody);
    expect(body.masked).toEqual(['body', 'raw_body']);
    expect(headersOf(body.bytes)).toEqual({
      headers: { accept: '*/*' },
      body: MASK,
      raw_body: Buffer.from(MASK).toString('base64'),
    });
  });
});

describe('unreproducible', () => {
  it('names what a replay cannot give again, and only that', () => {
    expect(unreproducible(METRIC_METHOD_PATH, ['auth_key'])).toBeUndefined();
    expect(unreproducible(AUTHORIZATION_METHOD_PATH, ['custom_token_header'])).toBeUndefined();
    expect(unreproducible(AUTHORIZATION_METHOD_PATH, ['custom_token_header', 'auth_key'])).toMatch(/auth_key/);
    expect(unreproducible(CHECK_PATHS.v2, [])).toBeUndefined();
    expect(unreproducible(CHECK_PATHS.v2, ['header cookie'])).toMatch(/header cookie/);
    expect(unreproducible(METRIC_METHOD_PATH, ['request'])).toMatch(/left out/);
    expect(unreproducible(METRIC_METHOD_PATH, ['adapter_config'])).toMatch(/left out/);
  });
});

describe('editFields', () => {
  it('returns the same buffer when nothing is replaced, and lengths of any size when something is', () => {
    const message = Buffer.concat([len(1, 'a'), Buffer.from([2 << 3, 5])]);
    expect(editFields(message, () => undefined)).toBe(message);
    const long = Buffer.alloc(300, 0x61);
    const edited = editFields(message, (field) => (field === 1 ? long : undefined));
    expect(edited).toEqual(Buffer.concat([Buffer.from([0x0a, 0xac, 0x02]), long, Buffer.from([2 << 3, 5])]));
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/common/errors.js';
import { decodeParams, DEFAULT_MAX_PARAMS_BYTES } from '../src/core/params/params.js';
import { PARAMS_TYPE_URL } from '../src/wire/load.js';
import { SINK_TYPES } from '../src/sinks/registry.js';
import { paramsAny } from './helpers/clients.js';

const decode = (any: Parameters<typeof decodeParams>[0]) => decodeParams(any, SINK_TYPES);

describe('decodeParams', () => {
  it('absent adapter_config gives the defaults: stdout sink, no auth_key', () => {
    const c = decode(null);
    expect(c).toMatchObject({ filePath: '', format: '', sink: 'stdout', validUseCount: 0, authKeyDigest: null });
    expect(c.view).toEqual({
      filePath: '',
      authKey: '',
      format: '',
      validDuration: '0s',
      validUseCount: 0,
      denyValidDuration: '0s',
      denyValidUseCount: 0,
      sink: 'stdout',
    });
  });

  it('an Any with empty value (handler without params) also gives the defaults', () => {
    const c = decode({ type_url: PARAMS_TYPE_URL, value: Buffer.alloc(0) });
    expect(c.sink).toBe('stdout');
    expect(c.filePath).toBe('');
  });

  it('decodes the fields Mixer encodes from the handler params', () => {
    const c = decode(
      paramsAny({
        file_path: 'out.txt',
        auth_key: 'abc',
        format: 'json',
        valid_duration: '1m30.5s',
        valid_use_count: 3,
      }),
    );
    expect(c).toMatchObject({
      filePath: 'out.txt',
      format: 'json',
      sink: 'file',
      validDuration: { seconds: 90, nanos: 500_000_000 },
      validUseCount: 3,
    });
    expect(c.view.authKey).toBe('***');
    expect(c.view.validDuration).toBe('90.5s');
    expect(JSON.stringify(c.view)).not.toContain('abc');
  });

  it('decodes the bytes of the contract example: field 2 "abc" is auth_key', () => {
    const c = decode({ type_url: PARAMS_TYPE_URL, value: Buffer.from([0x12, 0x03, 0x61, 0x62, 0x63]) });
    expect(c.authKeyDigest).not.toBeNull();
    expect(c.filePath).toBe('');
  });

  it('rejects a wrong type_url saying what was expected and what arrived', () => {
    expect(() => decode({ type_url: 'type.googleapis.com/other.Params', value: Buffer.alloc(0) })).toThrow(
      `adapter_config: expected type_url "${PARAMS_TYPE_URL}", got "type.googleapis.com/other.Params"`,
    );
    expect(() => decode({ type_url: '', value: Buffer.alloc(0) })).toThrow(/got an empty type_url/);
  });

  it('rejects garbage bytes with InvalidInputError', () => {
    const garbage = { type_url: PARAMS_TYPE_URL, value: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]) };
    expect(() => decode(garbage)).toThrow(InvalidInputError);
    expect(() => decode(garbage)).toThrow(/5 bytes do not decode as adapter.mygrpcadapter.config.Params/);
  });

  it('reports every invalid field at once, each by name', () => {
    let message = '';
    try {
      decode(paramsAny({ format: 'xml', valid_duration: 'soon', valid_use_count: -1, sink: 'kafka' }));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('format: expected one of text, json (or empty), got "xml"');
    expect(message).toContain('valid_duration: expected a duration such as "30s", got "soon"');
    expect(message).toContain('valid_use_count: must not be negative, got -1');
    expect(message).toContain('sink: expected one of file, stdout (or empty), got "kafka"');
  });

  it('refuses Params over the size bound before decoding them, naming the bound', () => {
    const at = paramsAny({ file_path: 'a.txt', auth_key: 'k'.repeat(DEFAULT_MAX_PARAMS_BYTES - 11) });
    expect(at.value.length).toBe(DEFAULT_MAX_PARAMS_BYTES);
    expect(decode(at).filePath).toBe('a.txt');
    const over = { type_url: PARAMS_TYPE_URL, value: Buffer.concat([at.value, Buffer.from([0xff])]) };
    expect(() => decode(over)).toThrow(
      new InvalidInputError(
        `adapter_config: ${DEFAULT_MAX_PARAMS_BYTES + 1} bytes is more than the 65536 a handler configuration may hold`,
      ),
    );
    expect(() => decodeParams(paramsAny({ sink: 'stdout' }), SINK_TYPES, { maxBytes: 7 })).toThrow(
      'adapter_config: 8 bytes is more than the 7 a handler configuration may hold',
    );
  });

  it('requires file_path for the file sink', () => {
    expect(() => decode(paramsAny({ sink: 'file' }))).toThrow('file_path: required when sink is "file"');
  });
});

describe('decodeParams refuses what a strict protobuf decoder refuses', () => {
  it.each([
    ['a string running past the end', [0x0a, 0x05, 0x61], /5 bytes needed at offset 2, 1 left/],
    ['a known field with the wrong wire type', [0x0d, 0x01, 0x02, 0x03, 0x04], /Params.file_path: wire type 5/],
    ['invalid UTF-8 in a string', [0x12, 0x02, 0xff, 0xfe], /Params.auth_key: string is not valid UTF-8/],
    ['a wire type that does not exist', [0xff, 0x01, 0x01], /Params.#31: invalid wire type 7/],
    ['a truncated varint', [0x28, 0xff], /varint runs past the end/],
  ])('%s', (_name, bytes, message) => {
    const any = { type_url: PARAMS_TYPE_URL, value: Buffer.from(bytes) };
    expect(() => decode(any)).toThrow(InvalidInputError);
    expect(() => decode(any)).toThrow(message);
  });

  it('skips unknown fields, as proto3 requires', () => {
    const c = decode({ type_url: PARAMS_TYPE_URL, value: Buffer.from([0xf8, 0x01, 0x05, 0x0a, 0x01, 0x61]) });
    expect(c.filePath).toBe('a');
  });
});

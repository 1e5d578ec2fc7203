import { beforeAll, describe, expect, it } from 'vitest';
import type protobuf from 'protobufjs';
import { findParamsType, paramsTypeUrl, rootFromDescriptorSet } from '../src/opconfig/descriptor.js';
import { encodeParams, jsonName, ParamsError } from '../src/opconfig/params-encoding.js';
import { adapterConfigBase64, descriptorSetBase64 } from './helpers/opconfig.js';

function paramsOf(base64: string): protobuf.Type {
  const type = findParamsType(rootFromDescriptorSet(base64));
  if (!type) throw new Error('no Params in the descriptor set');
  return type;
}

const hex = (b: Uint8Array): string =>
  Buffer.from(b)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');

describe('handler params -> adapter_config bytes', () => {
  let ours: protobuf.Type;
  beforeAll(async () => {
    ours = paramsOf(await adapterConfigBase64());
  });

  it("encodes auth_key with this adapter's Params (auth_key = 2)", () => {
    expect(hex(encodeParams(ours, { auth_key: 'abc' }))).toBe('12 03 61 62 63');
    expect(paramsTypeUrl(ours)).toBe('type.googleapis.com/adapter.mygrpcadapter.config.Params');
  });

  it("matches the contract's worked example (auth_key = 1)", () => {
    const walkthrough = paramsOf(
      descriptorSetBase64(
        'syntax = "proto3"; package adapter.mygrpcadapter.config; message Params { string auth_key = 1; }',
      ),
    );
    expect(hex(encodeParams(walkthrough, { auth_key: 'abc' }))).toBe('0a 03 61 62 63');
  });

  it('writes top-level fields in sorted key order, whatever the field numbers', () => {
    const bytes = encodeParams(ours, { valid_use_count: 3, file_path: 'o', auth_key: 'k' });
    // auth_key (2), file_path (1), valid_use_count (5)
    expect(hex(bytes)).toBe('12 01 6b 0a 01 6f 28 03');
  });

  it('accepts lowerCamel JSON names', () => {
    expect(hex(encodeParams(ours, { authKey: 'abc', validUseCount: '7' }))).toBe('12 03 61 62 63 28 07');
    expect(jsonName('monitored_resource_type')).toBe('monitoredResourceType');
  });

  it('gives empty bytes for absent params', () => {
    expect(encodeParams(ours, undefined)).toHaveLength(0);
    expect(encodeParams(ours, null)).toHaveLength(0);
  });

  // Bytes and messages as realmixer (Mixer 1.6.14's own encoder) produced them for the same params.
  it.each([
    [{ valid_use_count: 3000000000 }, '28 80 bc c1 96 0b'],
    [{ valid_use_count: 4294967301 }, '28 85 80 80 80 10'],
    [{ valid_use_count: -1 }, '28 ff ff ff ff ff ff ff ff ff 01'],
    [{ valid_use_count: '0x10' }, '28 10'],
    [{ valid_use_count: '-0x10' }, '28 f0 ff ff ff ff ff ff ff ff 01'],
    [{ valid_use_count: 1e3 }, '28 e8 07'],
    [{ valid_duration: '10x' }, '22 03 31 30 78'],
    [{ format: 'yaml' }, '1a 04 79 61 6d 6c'],
  ])('encodes %j as Mixer does', (params, bytes) => {
    expect(hex(encodeParams(ours, params))).toBe(bytes);
  });

  it.each([
    [{ authkey: 'x' }, "params.authkey: unknown field: field 'authkey' not found in message 'Params'"],
    [{ auth_key: 'a', authKey: 'b' }, 'params.authKey: field auth_key given twice'],
    [{ auth_key: true }, "field 'auth_key' is of type 'bool' instead of expected type 'string'"],
    [{ valid_duration: 10 }, "field 'valid_duration' is of type 'float64' instead of expected type 'string'"],
    [{ valid_use_count: 2.5 }, "field 'valid_use_count' is of type 'float64' instead of expected type 'int'"],
    [{ valid_use_count: '2.5' }, "field 'valid_use_count' is of type 'string' instead of expected type 'int'"],
    [{ valid_use_count: 2 ** 63 }, "field 'valid_use_count' is of type 'float64' instead of expected type 'int'"],
    ['abc', 'params: expected an object for adapter.mygrpcadapter.config.Params'],
  ])('rejects %j', (params, message) => {
    expect(() => encodeParams(ours, params)).toThrow(ParamsError);
    expect(() => encodeParams(ours, params)).toThrow(message);
  });

  it('handles nested messages, enums, repeated and map fields', () => {
    const type = paramsOf(
      descriptorSetBase64(`syntax = "proto3"; package t;
        enum Mode { OFF = 0; ON = 1; }
        message Inner { int64 n = 1; }
        message Params { repeated string tags = 1; map<string, int32> limits = 2; Mode mode = 3; Inner inner = 4; bool on = 5; double r = 6; bytes raw = 7; }`),
    );
    const bytes = encodeParams(type, {
      tags: ['a'],
      limits: { x: 1 },
      mode: 'ON',
      inner: { n: '9007199254740993' },
      on: true,
      r: 0.5,
      raw: 'AQI=',
    });
    const back = type.toObject(type.decode(bytes), { longs: String, enums: String, bytes: String });
    // A descriptor-set map is a repeated entry message; the bytes are those of a map.
    expect(back).toEqual({
      tags: ['a'],
      limits: [{ key: 'x', value: 1 }],
      mode: 'ON',
      inner: { n: '9007199254740993' },
      on: true,
      r: 0.5,
      raw: 'AQI=',
    });
    expect(() => encodeParams(type, { mode: 'MAYBE' })).toThrow('params.mode: expected one of OFF, ON');
    expect(() => encodeParams(type, { inner: { m: 1 } })).toThrow('params.inner.m: unknown field');
    expect(() => encodeParams(type, { tags: 'a' })).toThrow('params.tags: expected a list');
  });
});

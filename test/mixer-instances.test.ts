// Instance params -> InstanceMsg: which Value member each kind of param
// fills (contract §1.3), checked on the encoded request.
import { describe, expect, it } from 'vitest';
import { bagFromFlags } from '../src/opconfig/attributes.js';
import { instanceBuilder, InstanceConfigError } from '../src/opconfig/instances.js';
import { decodeView } from '../src/recording/calls.js';
import { encodeHandleRequest } from '../src/opconfig/rules.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH } from '../src/wire/load.js';
import type { ValueType } from '../src/opconfig/values.js';

const manifest: Record<string, ValueType> = {
  'request.size': 'INT64',
  'request.headers': 'STRING_MAP',
  'destination.service': 'STRING',
  'destination.service.host': 'DNS_NAME',
  'source.ip': 'IP_ADDRESS',
  'request.time': 'TIMESTAMP',
  'response.duration': 'DURATION',
  'source.email': 'EMAIL_ADDRESS',
  'request.url': 'URI',
  'request.ratio': 'DOUBLE',
  'connection.mtls': 'BOOL',
  'source.user': 'STRING',
};
const typeOf = (n: string): ValueType | undefined => manifest[n];

const bag = bagFromFlags({
  string_attributes: ['destination.service=svc,destination.service.host=a.b,source.email=a@b.c,request.url=http://x/'],
  int64_attributes: ['request.size=1235'],
  double_attributes: ['request.ratio=0.25'],
  bool_attributes: ['connection.mtls=false'],
  bytes_attributes: ['source.ip=ac:11:0:3'],
  timestamp_attributes: ['request.time=2020-01-02T03:04:05.5Z'],
  duration_attributes: ['response.duration=1.5s'],
  stringmap_attributes: ['request.headers=x-custom-token:abc'],
});

/** The instance as the adapter will decode it from the wire. */
function roundTrip(method: string, instance: Buffer): Record<string, unknown> {
  const view = decodeView(method, 'request', encodeHandleRequest([instance], undefined, '1')) as Record<
    string,
    unknown
  >;
  delete view.dedup_id;
  return view;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('metric instances', () => {
  it('fills the Value member from literal kind or expression type', () => {
    const inst = instanceBuilder(
      'i1metric.instance.istio-system',
      'metric',
      {
        value: 'request.size | 0',
        dimensions: {
          response_code: '200',
          quoted: '"myservice"',
          yaml_int: 7,
          yaml_float: 1.5,
          yaml_bool: true,
          service: 'destination.service',
          host: 'destination.service.host',
          ip: 'source.ip',
          time: 'request.time',
          took: 'response.duration',
          email: 'source.email',
          url: 'request.url',
          ratio: 'request.ratio',
          mtls: 'connection.mtls',
          token: 'request.headers["x-custom-token"]',
        },
        monitoredResourceType: '"k8s"',
      },
      typeOf,
    );
    const view = roundTrip(METRIC_METHOD_PATH, inst.build(bag)) as {
      instances: Record<string, unknown>[];
    };
    expect(view.instances[0]).toEqual({
      name: 'i1metric.instance.istio-system',
      value: { int64_value: '1235', value: 'int64_value' },
      monitored_resource_type: 'k8s',
      dimensions: {
        response_code: { int64_value: '200', value: 'int64_value' },
        quoted: { string_value: 'myservice', value: 'string_value' },
        yaml_int: { double_value: 7, value: 'double_value' },
        yaml_float: { double_value: 1.5, value: 'double_value' },
        yaml_bool: { bool_value: true, value: 'bool_value' },
        service: { string_value: 'svc', value: 'string_value' },
        host: { dns_name_value: { value: 'a.b' }, value: 'dns_name_value' },
        ip: {
          ip_address_value: { value: Buffer.from([0xac, 0x11, 0, 3]).toString('base64') },
          value: 'ip_address_value',
        },
        time: { timestamp_value: { value: { seconds: '1577934245', nanos: 500_000_000 } }, value: 'timestamp_value' },
        took: { duration_value: { value: { seconds: '1', nanos: 500_000_000 } }, value: 'duration_value' },
        email: { email_address_value: { value: 'a@b.c' }, value: 'email_address_value' },
        url: { uri_value: { value: 'http://x/' }, value: 'uri_value' },
        ratio: { double_value: 0.25, value: 'double_value' },
        mtls: { bool_value: false, value: 'bool_value' },
        token: { string_value: 'abc', value: 'string_value' },
      },
    });
  });

  it.each([
    [
      { value: 'request.headers' },
      'params.value: expression "request.headers" is STRING_MAP, which cannot fill a Value',
    ],
    [{ value: ['a'] }, 'params.value: expected an expression or a literal'],
    [{ monitored_resource_type: 'request.size' }, 'is INT64, the field needs STRING'],
    [{ dimensions: 'x' }, 'params.dimensions: expected a mapping'],
    [{ value: 'request.size', nope: 1 }, 'params.nope: unknown field (expected one of value, dimensions'],
  ])('rejects %j', (params, message) => {
    expect(() => instanceBuilder('i.instance.ns', 'metric', params, typeOf)).toThrow(InstanceConfigError);
    expect(() => instanceBuilder('i.instance.ns', 'metric', params, typeOf)).toThrow(message);
  });
});

describe('authorization instances', () => {
  it('leaves an unconfigured action out and fills subject strings', () => {
    const inst = instanceBuilder(
      'icheck.instance.istio-system',
      'authorization',
      {
        subject: {
          user: 'source.user | "anon"',
          properties: { custom_token_header: 'request.headers["x-custom-token"]' },
        },
      },
      typeOf,
    );
    const view = roundTrip(AUTHORIZATION_METHOD_PATH, inst.build(bag));
    expect(view).toEqual({
      instance: {
        name: 'icheck.instance.istio-system',
        subject: {
          user: 'anon',
          properties: { custom_token_header: { string_value: 'abc', value: 'string_value' } },
        },
      },
    });
  });
});

// Bytes realmixer (Mixer 1.6.14's encoder) sent for the same instance config
// (`realmixer report|check ... --dump`), minus the request around the instance.
describe('Mixer byte layout', () => {
  it('writes the walkthrough metric instance as Mixer does (2-byte map entry lengths)', () => {
    const inst = instanceBuilder(
      'i1metric.instance.istio-system',
      'metric',
      { value: 'request.size | 0', dimensions: { response_code: '200' } },
      typeOf,
    );
    expect(hex(inst.build(bag))).toBe(
      '0a0310d3091294000a0d726573706f6e73655f636f6465120310c801fad2e493021e69316d65747269632e696e7374616e63652e697374696f2d73797374656d',
    );
  });

  it('sends subject: {} present and empty, string fields even when empty', () => {
    const inst = instanceBuilder(
      'isub.instance.istio-system',
      'authorization',
      { subject: {}, action: { namespace: '"ns"', path: 'source.user | ""' } },
      typeOf,
    );
    expect(hex(inst.build(new Map()))).toBe(
      '0a80001286000a026e732200fad2e493021a697375622e696e7374616e63652e697374696f2d73797374656d',
    );
  });

  it('sends YAML numbers as doubles and the functions as their types', () => {
    const inst = instanceBuilder(
      'i.instance.ns',
      'metric',
      { value: 'timestamp("2015-01-02T15:04:05Z")', dimensions: { d: 7 } },
      typeOf,
    );
    // value: TimeStamp{1420211045}; d: double 7.0 (19 00 00 00 00 00 00 1c 40)
    expect(hex(inst.build(new Map()))).toBe(
      '0a0a32080a0608e5e69aa505128e000a01641209190000000000001c40fad2e493020d692e696e7374616e63652e6e73',
    );
  });

  it('names the failing field the way Mixer does', () => {
    const inst = instanceBuilder(
      'icheck.instance.istio-system',
      'authorization',
      { subject: { properties: { tok: 'request.headers["x-custom-token"]' } } },
      typeOf,
    );
    expect(() => inst.build(new Map())).toThrow(
      "fieldEncoder: subject - fieldEncoder: properties - fieldEncoder: value - lookup failed: 'request.headers'",
    );
  });
});

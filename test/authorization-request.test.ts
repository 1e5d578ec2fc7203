// The direct HandleAuthorizationRequest decoder against proto-loader's: the
// check Mixer sends, every field, merged messages and mutated bytes.
import { describe, expect, it } from 'vitest';
import type { HandleAuthorizationRequest__Output } from '../src/generated/authorization/HandleAuthorizationRequest.js';
import { AUTHORIZATION_SERVICE, protoRoot } from '../src/wire/load.js';
import { decodeAuthorizationFast } from '../src/frontends/mixer/authorization-request.js';
import { fastWithFallback, prng, referenceDeserializer, sameOrInvalidUtf8 } from './helpers/differential.js';

type Deserialize = (buf: Buffer) => HandleAuthorizationRequest__Output;

const reference: Deserialize = referenceDeserializer(AUTHORIZATION_SERVICE, 'HandleAuthorization');

const fastOnly = fastWithFallback(decodeAuthorizationFast, () => {
  throw new Error('fell back to proto-loader');
});
const withFallback = fastWithFallback(decodeAuthorizationFast, reference);

const requestType = protoRoot().lookupType('authorization.HandleAuthorizationRequest');
const encode = (req: object): Buffer => Buffer.from(requestType.encode(requestType.fromObject(req)).finish());

const check = {
  instance: {
    name: 'icheck.instance.istio-system',
    subject: { properties: { custom_token_header: { string_value: 'secret' } } },
  },
  adapter_config: {
    type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params',
    value: Buffer.from([18, 1, 97]),
  },
  dedup_id: '899657512539659575',
};

const everyField = {
  instance: {
    name: 'full.instance.istio-system',
    subject: {
      user: 'alice',
      groups: 'admins,dev',
      properties: {
        custom_token_header: { string_value: 'tök\u{1F511}' },
        n: { int64_value: '-9223372036854775808' },
        ip: { ip_address_value: { value: Buffer.from([127, 0, 0, 1]) } },
        unset: {},
      },
    },
    action: {
      namespace: 'default',
      service: 'details.default.svc.cluster.local',
      method: 'GET',
      path: '/details/0',
      properties: {
        d: { duration_value: { value: { seconds: 3, nanos: 5 } } },
        m: { string_map_value: { value: { a: 'b' } } },
      },
    },
  },
  dedup_id: 'x',
};

describe('decodeAuthorizationFast, with the reference decoder for what it leaves', () => {
  it.each([
    ['the check Mixer sends', check],
    ['every field', everyField],
    ['an empty request', {}],
    ['an instance with nothing set', { instance: {} }],
  ])('decodes %s on the fast path, equal to proto-loader', (_name, req) => {
    const buf = encode(req);
    expect(fastOnly(buf)).toEqual(reference(buf));
  });

  it('treats a repeated message field as proto-loader does (the last one replaces)', () => {
    const buf = Buffer.concat([encode(everyField), encode(check)]);
    expect(fastOnly(buf)).toEqual(reference(buf));
  });

  it('gives the same result or the same failure as proto-loader for mutated bytes', () => {
    const random = prng(7);
    for (const original of [encode(check), encode(everyField)]) {
      for (let round = 0; round < 1500; round++) {
        const buf = Buffer.from(original);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) buf[Math.floor(random() * buf.length)] = Math.floor(random() * 256);
        const cut = random() < 0.2 ? buf.subarray(0, Math.floor(random() * buf.length)) : buf;
        expect(sameOrInvalidUtf8(withFallback, reference, requestType, cut)).toBe(true);
      }
    }
  });
});

// A reference client for the Envoy front-ends, compiled at test time from
// Envoy's own .proto files (../shared/envoy/proto, at one pinned revision):
// requests are encoded and answers decoded exactly as Envoy's schema says,
// independently of the project's own protos. Tests that use it run under
// describeWith(['envoy-protos'], ...).
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ENVOY_PROTO_DIR } from './shared.js';

const PROTOBUFJS_GOOGLE = path.join(
  path.dirname(createRequire(import.meta.url).resolve('protobufjs/package.json')),
  'google',
  'protobuf',
);

export interface EnvoyReference {
  root: protobuf.Root;
  type(name: string): protobuf.Type;
  /** Encodes `object` (protobufjs JSON form, snake_case) as `type`. */
  encode(type: string, object: Record<string, unknown>): Buffer;
  decode(type: string, bytes: Uint8Array): Record<string, unknown>;
}

let loaded: EnvoyReference | undefined;

export function envoyReference(): EnvoyReference {
  if (loaded) return loaded;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const bundled = path.join(ENVOY_PROTO_DIR, target);
    if (existsSync(bundled)) return bundled;
    // descriptor.proto (validate's import) ships with protobufjs; the rest are built in.
    if (target === 'google/protobuf/descriptor.proto') return path.join(PROTOBUFJS_GOOGLE, 'descriptor.proto');
    return target;
  };
  root.loadSync(
    [
      'envoy/service/auth/v3/external_auth.proto',
      'envoy/service/auth/v2/external_auth.proto',
      'envoy/service/auth/v2alpha/external_auth.proto',
      'envoy/service/accesslog/v3/als.proto',
      'envoy/service/accesslog/v2/als.proto',
    ],
    { keepCase: true },
  );
  root.resolveAll();
  const type = (name: string) => root.lookupType(name);
  loaded = {
    root,
    type,
    encode: (name, object) => {
      const t = type(name);
      const err = t.verify(object);
      if (err) throw new Error(`${name}: ${err}`);
      return Buffer.from(t.encode(t.fromObject(object)).finish());
    },
    decode: (name, bytes) =>
      type(name).toObject(type(name).decode(bytes), { longs: String, enums: String, defaults: false, oneofs: true }),
  };
  return loaded;
}

/** One unary call of raw bytes to `method` (a full path such as /envoy.service.auth.v3.Authorization/Check). */
export function callRaw(
  address: string,
  method: string,
  request: Buffer,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): Promise<{ code: number; details: string; response?: Buffer }> {
  const client = new grpc.Client(address, credentials, options);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      (err, response) => {
        client.close();
        if (err) resolve({ code: err.code ?? 2, details: err.details });
        else resolve({ code: 0, details: '', response });
      },
    );
  });
}

export const CHECK_PATHS = {
  v3: '/envoy.service.auth.v3.Authorization/Check',
  v2: '/envoy.service.auth.v2.Authorization/Check',
  v2alpha: '/envoy.service.auth.v2alpha.Authorization/Check',
} as const;

export const ALS_PATHS = {
  v3: '/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs',
  v2: '/envoy.service.accesslog.v2.AccessLogService/StreamAccessLogs',
} as const;

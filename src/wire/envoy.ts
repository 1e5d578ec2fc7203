// Loads proto/envoy once, only when the Envoy front-ends are on: the
// ext_authz and access-log messages (one set serves the v3, v2 and v2alpha
// paths: their messages are field for field the same) and the services for
// the transport and reflection.
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AUTHORIZATION_PROTO, METRIC_PROTO, PROTO_DIR } from './load.js';
import loaderOptionsJson from './loader-options.json' with { type: 'json' };

const EXT_AUTHZ_PROTOS = [
  'envoy/service/auth/v3/external_auth.proto',
  'envoy/service/auth/v2/external_auth.proto',
  'envoy/service/auth/v2alpha/external_auth.proto',
];
const ALS_PROTOS = ['envoy/service/accesslog/v3/als.proto', 'envoy/service/accesslog/v2/als.proto'];

/** ext_authz under every name an Istio's Envoy calls it (v3 from Istio 1.9; v2, v2alpha in 1.7/1.8). */
export const EXT_AUTHZ_SERVICES = [
  'envoy.service.auth.v3.Authorization',
  'envoy.service.auth.v2.Authorization',
  'envoy.service.auth.v2alpha.Authorization',
] as const;
/** The health service names of the two Envoy front-ends. */
export const EXT_AUTHZ_HEALTH = 'envoy.service.auth.v3.Authorization';
export const ALS_HEALTH = 'envoy.service.accesslog.v3.AccessLogService';

/** The gRPC access-log service, v3 and v2 (Istio 1.7-1.9.0). */
export const ALS_SERVICES = [
  'envoy.service.accesslog.v3.AccessLogService',
  'envoy.service.accesslog.v2.AccessLogService',
] as const;

export interface EnvoyProtos {
  root: protobuf.Root;
  checkRequest: protobuf.Type;
  checkResponse: protobuf.Type;
  logsMessage: protobuf.Type;
  /** proto-loader's view of the same files and the Mixer services': the services, and what reflection serves. */
  pkg: protoLoader.PackageDefinition;
}

let loaded: EnvoyProtos | undefined;

export function envoyProtos(): EnvoyProtos {
  if (!loaded) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => {
      const local = path.join(PROTO_DIR, target);
      // google/protobuf/* are bundled with protobufjs.
      return existsSync(local) ? local : target;
    };
    root.loadSync([...EXT_AUTHZ_PROTOS, ...ALS_PROTOS], { keepCase: true });
    root.resolveAll();
    // proto-loader reads the files itself here, the Mixer services' with
    // them: reflection indexes descriptors by file, and two definitions each
    // with its own google.protobuf file would hide one's types from the
    // other (it then warns on stderr, not as JSON).
    const pkg = protoLoader.loadSync([METRIC_PROTO, AUTHORIZATION_PROTO, ...EXT_AUTHZ_PROTOS, ...ALS_PROTOS], {
      ...loaderOptionsJson,
      longs: String,
      enums: String,
      includeDirs: [PROTO_DIR],
    });
    loaded = {
      root,
      checkRequest: root.lookupType('envoy.service.auth.v3.CheckRequest'),
      checkResponse: root.lookupType('envoy.service.auth.v3.CheckResponse'),
      logsMessage: root.lookupType('envoy.service.accesslog.v3.StreamAccessLogsMessage'),
      pkg,
    };
  }
  return loaded;
}

/** The grpc-js definition of one of the services above. */
export function envoyService(name: (typeof EXT_AUTHZ_SERVICES)[number] | (typeof ALS_SERVICES)[number]) {
  return envoyProtos().pkg[name] as unknown as ServiceDefinition;
}

/** How the Envoy front-ends decode: plain objects, 64-bit fields as decimal strings (numbers would lose precision), enums by name. */
export const ENVOY_DECODE_OPTIONS = { longs: String, enums: String, defaults: false, oneofs: true } as const;

/** `bytes` decoded as `type` into a plain object; throws protobufjs' error when they are not one. */
export function decodePlain<T>(type: protobuf.Type, bytes: Uint8Array): T {
  return type.toObject(type.decode(bytes), ENVOY_DECODE_OPTIONS) as T;
}

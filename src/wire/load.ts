// Loads proto/ once for the whole process: the grpc-js service definitions
// (request/response codecs) and a protobufjs Root for decoding Any payloads.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { HandleAuthorizationServiceDefinition } from '../generated/authorization/HandleAuthorizationService.js';
import type { HandleMetricServiceDefinition } from '../generated/metric/HandleMetricService.js';
import { authorizationRequestDeserializer } from '../frontends/mixer/authorization-request.js';
import { metricRequestDeserializer } from '../frontends/mixer/metric-request.js';
import { referenceDeserializer } from './reference-decode.js';

// Shared with scripts/gen-types.mjs so the generated types describe exactly
// the objects the loader produces.
import loaderOptionsJson from './loader-options.json' with { type: 'json' };

// The JSON names the output types ("String"); proto-loader wants the constructors.
const loaderOptions: protoLoader.Options = {
  ...loaderOptionsJson,
  longs: loaderOptionsJson.longs === 'String' ? String : Number,
  enums: String,
};

export const METRIC_PROTO = 'mixer/template/metric/template_handler_service.proto';
export const AUTHORIZATION_PROTO = 'mixer/template/authorization/template_handler_service.proto';
export const CONFIG_PROTO = 'mixer/adapter/mygrpcadapter/config/config.proto';

export const METRIC_SERVICE = 'metric.HandleMetricService';
export const AUTHORIZATION_SERVICE = 'authorization.HandleAuthorizationService';
export const METRIC_METHOD_PATH = `/${METRIC_SERVICE}/HandleMetric`;
export const AUTHORIZATION_METHOD_PATH = `/${AUTHORIZATION_SERVICE}/HandleAuthorization`;

export const PARAMS_MESSAGE = 'adapter.mygrpcadapter.config.Params';
export const PARAMS_TYPE_URL = `type.googleapis.com/${PARAMS_MESSAGE}`;

/** The proto/ folder; found by walking up so it works from src/ (tests) and dist/src/ (built). */
export const PROTO_DIR: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, CONFIG_PROTO))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('proto/ folder not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
})();

export interface ServiceDefinitions {
  metric: HandleMetricServiceDefinition;
  authorization: HandleAuthorizationServiceDefinition;
}

let pkg: protoLoader.PackageDefinition | undefined;
let definitions: ServiceDefinitions | undefined;

/** Everything proto-loader made of the two handler-service protos (also what reflection serves). */
export function packageDefinition(): protoLoader.PackageDefinition {
  pkg ??= protoLoader.loadSync([METRIC_PROTO, AUTHORIZATION_PROTO], { ...loaderOptions, includeDirs: [PROTO_DIR] });
  return pkg;
}

export function serviceDefinitions(): ServiceDefinitions {
  if (!definitions) {
    const pkg = packageDefinition();
    const metric = pkg[METRIC_SERVICE] as unknown as HandleMetricServiceDefinition;
    const authorization = pkg[AUTHORIZATION_SERVICE] as unknown as HandleAuthorizationServiceDefinition;
    definitions = {
      // Both requests are decoded straight from the wire (same objects as
      // proto-loader's; the reference decoder stays the fallback).
      metric: {
        ...metric,
        HandleMetric: {
          ...metric.HandleMetric,
          requestDeserialize: metricRequestDeserializer(
            referenceDeserializer(protoRoot().lookupType('metric.HandleMetricRequest')),
          ),
        },
      },
      authorization: {
        ...authorization,
        HandleAuthorization: {
          ...authorization.HandleAuthorization,
          requestDeserialize: authorizationRequestDeserializer(
            referenceDeserializer(protoRoot().lookupType('authorization.HandleAuthorizationRequest')),
          ),
        },
      },
    };
  }
  return definitions;
}

let root: protobuf.Root | undefined;

/** A protobufjs Root holding every proto/ file (for Params and for test clients). */
export function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => {
      const local = path.join(PROTO_DIR, target);
      // google/protobuf/* are bundled with protobufjs; let it resolve them.
      return existsSync(local) ? local : target;
    };
    r.loadSync([METRIC_PROTO, AUTHORIZATION_PROTO, CONFIG_PROTO], { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

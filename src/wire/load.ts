// Loads proto/ once for the whole process, into one protobufjs Root: the
// grpc-js service definitions (proto-loader's, used for encoding answers, by
// clients and by reflection) are made from that same Root's JSON, not from a
// second read of the files. The server registers them with requests left as
// bytes (transport/server.ts); frontends/mixer/request.ts decodes them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { HandleAuthorizationServiceDefinition } from '../generated/authorization/HandleAuthorizationService.js';
import type { HandleMetricServiceDefinition } from '../generated/metric/HandleMetricService.js';

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
export const HTTP_RESPONSE_PROTO = 'policy/v1beta1/http_response.proto';
export const DIRECT_HTTP_RESPONSE_TYPE_URL = 'type.googleapis.com/istio.policy.v1beta1.DirectHttpResponse';

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

interface Loaded {
  root: protobuf.Root;
  pkg: protoLoader.PackageDefinition;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (!loaded) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => {
      const local = path.join(PROTO_DIR, target);
      // google/protobuf/* are bundled with protobufjs; let it resolve them.
      return existsSync(local) ? local : target;
    };
    root.loadSync([METRIC_PROTO, AUTHORIZATION_PROTO], { keepCase: true });
    root.resolveAll();
    // proto-loader's definitions from the two service files alone, taken
    // before config.proto joins the Root: reflection serves what it served
    // when proto-loader read those files itself (its fromJSON gives the same
    // descriptors and codecs as its loadSync did).
    const pkg = protoLoader.fromJSON(root.toJSON(), loaderOptions);
    root.loadSync([CONFIG_PROTO, HTTP_RESPONSE_PROTO], { keepCase: true });
    root.resolveAll();
    loaded = { root, pkg };
  }
  return loaded;
}

/** Everything proto-loader made of the two handler-service protos (also what reflection serves). */
export function packageDefinition(): protoLoader.PackageDefinition {
  return load().pkg;
}

let definitions: ServiceDefinitions | undefined;

/** The two handle services, with proto-loader's codecs (requests decode with protobufjs, leniently). */
export function serviceDefinitions(): ServiceDefinitions {
  const pkg = packageDefinition();
  definitions ??= {
    metric: pkg[METRIC_SERVICE] as unknown as HandleMetricServiceDefinition,
    authorization: pkg[AUTHORIZATION_SERVICE] as unknown as HandleAuthorizationServiceDefinition,
  };
  return definitions;
}

/** The protobufjs Root holding every proto/ file (request and Params decoding, test clients). */
export function protoRoot(): protobuf.Root {
  return load().root;
}

/**
 * An HTTP answer as Mixer expects an adapter to give it: a
 * DirectHttpResponse packed in an Any, for CheckResult.status.details.
 */
export function directHttpResponseAny(http: {
  code: number;
  body: string;
  headers: Readonly<Record<string, string>>;
}): { type_url: string; value: Buffer } {
  const type = protoRoot().lookupType('istio.policy.v1beta1.DirectHttpResponse');
  // Empty fields left out, as a proto3 encoder leaves them.
  const message = type.fromObject({
    code: http.code,
    ...(http.body === '' ? {} : { body: http.body }),
    headers: { ...http.headers },
  });
  return { type_url: DIRECT_HTTP_RESPONSE_TYPE_URL, value: Buffer.from(type.encode(message).finish()) };
}

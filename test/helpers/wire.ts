// Sends objects through the real request codecs, so unit tests see exactly
// what the server's handlers see once they have decoded the request bytes.
import type { HandleAuthorizationRequest__Output } from '../../src/generated/authorization/HandleAuthorizationRequest.js';
import type { HandleAuthorizationRequest } from '../../src/generated/authorization/HandleAuthorizationRequest.js';
import type { Value, Value__Output } from '../../src/generated/istio/policy/v1beta1/Value.js';
import type {
  HandleMetricRequest,
  HandleMetricRequest__Output,
} from '../../src/generated/metric/HandleMetricRequest.js';
import type http2 from 'node:http2';
import { METRIC_METHOD_PATH, serviceDefinitions } from '../../src/wire/load.js';
import { decodeAuthorizationRequest, decodeMetricRequest } from '../../src/frontends/mixer/request.js';

/** gRPC's 5-byte message prefix (not compressed) announcing `length` bytes; attacks announce more than they send. */
export function grpcPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/**
 * A gRPC call opened by hand on `session` (POST with gRPC's headers), for
 * tests that send what a gRPC client would not. Its resets are what such
 * tests look at, so its errors are swallowed.
 */
export function rawGrpcStream(session: http2.ClientHttp2Session, path = METRIC_METHOD_PATH): http2.ClientHttp2Stream {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => undefined);
  return stream;
}

/** A whole gRPC message as it travels in DATA frames: prefix, then the bytes. */
export function grpcMessage(message: Buffer): Buffer {
  return Buffer.concat([grpcPrefix(message.length), message]);
}

export function metricRequestOnWire(req: HandleMetricRequest): HandleMetricRequest__Output {
  return decodeMetricRequest(serviceDefinitions().metric.HandleMetric.requestSerialize(req));
}

export function authorizationRequestOnWire(req: HandleAuthorizationRequest): HandleAuthorizationRequest__Output {
  return decodeAuthorizationRequest(serviceDefinitions().authorization.HandleAuthorization.requestSerialize(req))
    .request;
}

export function valueOnWire(value: Value): Value__Output {
  const instance = metricRequestOnWire({ instances: [{ value }] }).instances[0];
  return instance!.value!;
}

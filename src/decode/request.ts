// Request bytes -> request objects. The server hands handlers the raw bytes
// so that bytes protobufjs cannot decode become INVALID_ARGUMENT here, not
// grpc-js's generic INTERNAL "Error deserializing request".
import type { HandleAuthorizationRequest__Output } from '../generated/authorization/HandleAuthorizationRequest.js';
import type { HandleMetricRequest__Output } from '../generated/metric/HandleMetricRequest.js';
import { serviceDefinitions } from '../protocol/load.js';
import { InvalidInputError } from './errors.js';

function decodeWith<T>(deserialize: (bytes: Buffer) => T, message: string, bytes: Buffer): T {
  try {
    return deserialize(bytes);
  } catch (err) {
    throw new InvalidInputError(`request: ${bytes.length} bytes are not a valid ${message}: ${(err as Error).message}`);
  }
}

export function decodeMetricRequest(bytes: Buffer): HandleMetricRequest__Output {
  return decodeWith(serviceDefinitions().metric.HandleMetric.requestDeserialize, 'metric.HandleMetricRequest', bytes);
}

export function decodeAuthorizationRequest(bytes: Buffer): HandleAuthorizationRequest__Output {
  return decodeWith(
    serviceDefinitions().authorization.HandleAuthorization.requestDeserialize,
    'authorization.HandleAuthorizationRequest',
    bytes,
  );
}

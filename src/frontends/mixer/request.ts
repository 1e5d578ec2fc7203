// Request bytes -> request objects. The server hands handlers the raw bytes
// so that bytes protobufjs cannot decode become INVALID_ARGUMENT here, not
// grpc-js's generic INTERNAL "Error deserializing request".
//
// Strings that are not valid UTF-8 are refused with INVALID_ARGUMENT naming
// the field, as Go's proto3 decoding does, instead of being recorded with
// U+FFFD in place of the bytes. The one exception is the token property of
// an authorization subject: HTTP headers may carry any bytes, Mixer forwards
// them, and the token is compared byte for byte (then denied, not refused).
import type { HandleAuthorizationRequest__Output } from '../../generated/authorization/HandleAuthorizationRequest.js';
import type { HandleMetricRequest__Output } from '../../generated/metric/HandleMetricRequest.js';
import { protoRoot, serviceDefinitions } from '../../wire/load.js';
import { decodedBySlowPath } from '../../wire/fast-decode.js';
import { INVALID_UTF8 } from '../../wire/wire-reader.js';
import { InvalidInputError } from '../../common/errors.js';
import { TOKEN_PROPERTY } from '../../core/authorize.js';
import { checkWire } from '../../wire/wire-check.js';
import loaderOptions from '../../wire/loader-options.json' with { type: 'json' };

const METRIC_REQUEST = 'metric.HandleMetricRequest';
const AUTHORIZATION_REQUEST = 'authorization.HandleAuthorizationRequest';

/** Where the token sits in an authorization request, as checkWire names it. */
const TOKEN_PATH = `instance.subject.properties[${JSON.stringify(TOKEN_PROPERTY)}].string_value`;

function decodeWith<T extends object>(
  deserialize: (bytes: Buffer) => T,
  message: string,
  bytes: Buffer,
  acceptInvalidUtf8?: (path: string, raw: Uint8Array) => boolean,
): T {
  let decoded: T;
  try {
    decoded = deserialize(bytes);
  } catch (err) {
    if (err !== INVALID_UTF8) {
      throw new InvalidInputError(
        `request: ${bytes.length} bytes are not a valid ${message}: ${(err as Error).message}`,
      );
    }
    decoded = undefined as unknown as T;
  }
  // The fast decoder stops at a bad string, the fallback does not look: either
  // way the schema walk names the field (or accepts the token).
  if (decoded === undefined || decodedBySlowPath.has(decoded)) {
    const problem = checkWire(protoRoot().lookupType(message), bytes, { root: '', acceptInvalidUtf8 });
    if (problem !== undefined) throw new InvalidInputError(`request: ${problem}`);
    // Only the token was bad: decode the rest leniently (the token's raw bytes were kept).
    decoded ??= lenientDecode(message, bytes) as T;
  }
  return decoded;
}

/** proto-loader's decode (the same objects), which turns invalid UTF-8 into U+FFFD. */
function lenientDecode(message: string, bytes: Buffer): object {
  const type = protoRoot().lookupType(message);
  return type.toObject(type.decode(bytes), { ...loaderOptions, longs: String, enums: String });
}

export function decodeMetricRequest(bytes: Buffer): HandleMetricRequest__Output {
  return decodeWith(serviceDefinitions().metric.HandleMetric.requestDeserialize, METRIC_REQUEST, bytes);
}

export interface AuthorizationCall {
  request: HandleAuthorizationRequest__Output;
  /**
   * The token property's bytes when they are not valid UTF-8 (its decoded
   * string then holds U+FFFD and must not be compared); otherwise undefined.
   */
  rawToken: Buffer | undefined;
}

export function decodeAuthorizationRequest(bytes: Buffer): AuthorizationCall {
  let rawToken: Buffer | undefined;
  const request = decodeWith(
    serviceDefinitions().authorization.HandleAuthorization.requestDeserialize,
    AUTHORIZATION_REQUEST,
    bytes,
    (path, raw) => {
      if (path !== TOKEN_PATH) return false;
      rawToken = Buffer.from(raw); // a copy: the request buffer is not ours to keep
      return true;
    },
  );
  return { request, rawToken };
}

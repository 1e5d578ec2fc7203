// Request bytes -> request objects. The server hands handlers the raw bytes
// so that bytes protobufjs cannot decode become INVALID_ARGUMENT here, not
// grpc-js's generic INTERNAL "Error deserializing request".
//
// Strings that are not valid UTF-8 are refused with INVALID_ARGUMENT naming
// the field, as Go's proto3 decoding does, instead of being recorded with
// U+FFFD in place of the bytes. The one exception is the token property of
// an authorization subject: HTTP headers may carry any bytes, Mixer forwards
// them, and the token is compared byte for byte (then denied, not refused).
//
// A request bigger than --max-decode-bytes allows is refused with
// RESOURCE_EXHAUSTED before anything is decoded (docs/operations.md, "Bounds"): the cost
// walk (request-cost.ts) counts it first, unless it is too short to pass the
// bound as the fast decoder would read it (maxEstimatedWellFormedBytes: 32 KiB
// at the default bound; the walk used to run from 16 KiB). Counting inside
// the fast decoder instead was tried and measured: it saved every longer
// request its walk, but a refused call then took up to the bound's worth of
// heap before its refusal (peak RSS in test/request-bounds.test.ts 156 -> 190
// MiB with a decode worker, 127 -> 153 without).
//
// How many times the bytes are walked, by path:
// - fast path (every shape Mixer sends), up to 32 KiB: once, the fast
//   decoder, which is strict by construction (the strict check has nothing
//   to add) and builds at most one instance or map entry per two bytes
//   (the cost walk has nothing to add either).
// - fast path, longer: the cost walk, then the fast decode (twice).
// - fallback (a shape the fast decoder does not take, e.g. an unknown
//   field): the fast decode up to that shape, the cost walk if the request
//   could pass the bound as protobufjs reads it (from 16 KiB; the reference
//   decoder has no bound of its own, so it must be known before it
//   allocates) unless it already ran, the reference decode, then the strict
//   check, since protobufjs decodes leniently (up to four).
// - invalid UTF-8: the fast decode up to the string, the cost walk as above,
//   the strict check (which names the field), and for a bad token only the
//   reference decode (up to four).
// A metric request offloaded to a decode worker has its top level scanned
// on the main thread first (metric-service.ts), reading instance tags and
// lengths only.
import type protobuf from 'protobufjs';
import type { HandleAuthorizationRequest__Output } from '../../generated/authorization/HandleAuthorizationRequest.js';
import type { HandleMetricRequest__Output } from '../../generated/metric/HandleMetricRequest.js';
import { protoRoot } from '../../wire/load.js';
import { INVALID_UTF8 } from '../../wire/wire-reader.js';
import { referenceDeserializer } from '../../wire/reference-decode.js';
import {
  authorizationRequestCost,
  maxEstimatedWellFormedBytes,
  metricRequestCost,
  type RequestCost,
} from '../../wire/request-cost.js';
import { checkWire } from '../../wire/wire-check.js';
import { InvalidInputError } from '../../common/errors.js';
import { admitCost, admitRequest } from '../../core/call-cost.js';
import { TOKEN_PROPERTY } from '../../core/authorize.js';
import { decodeMetricFast } from './metric-request.js';
import { decodeAuthorizationFast } from './authorization-request.js';

/** Where the token sits in an authorization request, as checkWire names it. */
const TOKEN_PATH = `instance.subject.properties[${JSON.stringify(TOKEN_PROPERTY)}].string_value`;

/** One request message: its schema, its decoders and its cost walk. */
class RequestKind<T extends object> {
  private type?: protobuf.Type;
  private referenceDecode?: (bytes: Buffer) => T;

  constructor(
    readonly message: string,
    /** The fast decoder alone (see decodeWith for what it throws). */
    readonly fast: (bytes: Buffer) => T,
    readonly cost: (bytes: Uint8Array) => RequestCost,
  ) {}

  /** The message type, looked up on first use (the protos load when a request first needs them). */
  schema(): protobuf.Type {
    this.type ??= protoRoot().lookupType(this.message);
    return this.type;
  }

  /** protobufjs's decode in proto-loader's objects: lenient (U+FFFD for invalid UTF-8), unbounded. */
  reference(bytes: Buffer): T {
    this.referenceDecode ??= referenceDeserializer<T>(this.schema());
    try {
      return this.referenceDecode(bytes);
    } catch (err) {
      throw new InvalidInputError(
        `request: ${bytes.length} bytes are not a valid ${this.message}: ${(err as Error).message}`,
      );
    }
  }
}

const METRIC = new RequestKind<HandleMetricRequest__Output>(
  'metric.HandleMetricRequest',
  decodeMetricFast,
  metricRequestCost,
);
const AUTHORIZATION = new RequestKind<HandleAuthorizationRequest__Output>(
  'authorization.HandleAuthorizationRequest',
  decodeAuthorizationFast,
  authorizationRequestCost,
);

function decodeWith<T extends object>(
  kind: RequestKind<T>,
  bytes: Buffer,
  maxDecodeBytes: number,
  acceptInvalidUtf8?: (path: string, raw: Uint8Array) => boolean,
): T {
  const walkedFirst = maxEstimatedWellFormedBytes(bytes.length) > maxDecodeBytes;
  if (walkedFirst) admitCost(kind.cost(bytes), maxDecodeBytes);
  let decoded: T | undefined;
  try {
    return kind.fast(bytes);
  } catch (err) {
    // protobufjs may build more than the fast decoder would have: the bound
    // is the walk's to say before the reference decoder allocates.
    if (!walkedFirst) admitRequest(bytes, kind.cost, maxDecodeBytes);
    // The fast decoder stopped at a bad string: the check names it (or accepts the token).
    if (err !== INVALID_UTF8) decoded = kind.reference(bytes);
  }
  // The reference decoder does not look at structure or strings: the strict check does.
  const problem = checkWire(kind.schema(), bytes, { root: '', acceptInvalidUtf8 });
  if (problem !== undefined) throw new InvalidInputError(`request: ${problem}`);
  // Only the token was bad: decode the rest leniently (the token's raw bytes were kept).
  return decoded ?? kind.reference(bytes);
}

/**
 * A HandleMetricRequest, refused (CallTooLargeError) when decoding it would
 * take more than `maxDecodeBytes`; unbounded when that is left out.
 */
export function decodeMetricRequest(bytes: Buffer, maxDecodeBytes = Infinity): HandleMetricRequest__Output {
  return decodeWith(METRIC, bytes, maxDecodeBytes);
}

export interface AuthorizationCall {
  request: HandleAuthorizationRequest__Output;
  /**
   * The token property's bytes when they are not valid UTF-8 (its decoded
   * string then holds U+FFFD and must not be compared); otherwise undefined.
   */
  rawToken: Buffer | undefined;
}

// The token's raw bytes, caught by the strict check when they are not UTF-8;
// module-level (decoding is synchronous) so that no closure is made per call.
let caughtToken: Buffer | undefined;
function acceptToken(path: string, raw: Uint8Array): boolean {
  if (path !== TOKEN_PATH) return false;
  caughtToken = Buffer.from(raw); // a copy: the request buffer is not ours to keep
  return true;
}

/** A HandleAuthorizationRequest, bounded as decodeMetricRequest is. */
export function decodeAuthorizationRequest(bytes: Buffer, maxDecodeBytes = Infinity): AuthorizationCall {
  caughtToken = undefined;
  try {
    const request = decodeWith(AUTHORIZATION, bytes, maxDecodeBytes, acceptToken);
    return { request, rawToken: caughtToken };
  } finally {
    caughtToken = undefined;
  }
}

// envoy.service.auth.{v3,v2,v2alpha}.Authorization/Check: the request's
// attributes (mapped as Istio 1.7's bridge into Mixer did) go through the
// operator config's rules to the same decisions and records as a Mixer
// check; the answer is a CheckResponse with an explicit HTTP status on a
// deny. A check that fails inside the adapter answers a gRPC error, so
// Envoy's failOpen / statusOnError decides, as for an unreachable adapter.
import type protobuf from 'protobufjs';
import { status, type handleUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { CallTooLargeError } from '../../core/call-cost.js';
import { InvalidInputError } from '../../common/errors.js';
import { decodePlain, envoyProtos } from '../../wire/envoy.js';
import { decodeCost } from '../../wire/schema-cost.js';
import { answered, callStarted, failed } from '../mixer/service-context.js';
import { checkBag as bagOfCheck, type CheckRequestObject } from './check-attributes.js';
import { encodeCheckResponse } from './check-response.js';
import type { HttpAnswer } from '../../record/types.js';
import { checkBag, DispatchError, type EnvoyContext } from './dispatch.js';

const METHOD = 'Check';

/** Decodes a request of `type` after checking what decoding it costs (--max-decode-bytes). */
export function decodeBounded<T>(type: protobuf.Type, bytes: Buffer, maxDecodeBytes: number, what: string): T {
  let cost: { bytes: number; objects: number };
  try {
    cost = decodeCost(type, bytes);
  } catch (err) {
    throw new InvalidInputError(`${what}: not a valid ${type.name}: ${(err as Error).message}`);
  }
  if (cost.bytes > maxDecodeBytes) {
    throw new CallTooLargeError(
      `${what} not decoded: ${cost.objects} messages and map entries in ${bytes.length} bytes, about ${cost.bytes} bytes to decode; the per-call bound is ${maxDecodeBytes} (--max-decode-bytes)`,
    );
  }
  try {
    return decodePlain<T>(type, bytes);
  } catch (err) {
    throw new InvalidInputError(`${what}: not a valid ${type.name}: ${(err as Error).message}`);
  }
}

/**
 * The encoded answers: a config gives a handful of distinct (code, message)
 * pairs, so each is encoded once. Bounded: messages name handlers, which
 * come from the operator config, but a config may change many times.
 */
class EncodedAnswers {
  private readonly byKey = new Map<string, Buffer>();
  bytes(
    code: number,
    message: string,
    http: HttpAnswer | undefined,
    upstreamHeaders: Record<string, string> | undefined,
    removeHeaders: string[] | undefined,
  ): Buffer {
    // Answers that carry an HTTP answer or key-id headers are encoded per call.
    if (http || upstreamHeaders || removeHeaders) {
      return encodeCheckResponse({ code, message, http, upstreamHeaders, removeHeaders });
    }
    const key = `${code} ${message}`;
    let bytes = this.byKey.get(key);
    if (bytes === undefined) {
      bytes = encodeCheckResponse({ code, message });
      if (this.byKey.size >= 256) this.byKey.clear();
      this.byKey.set(key, bytes);
    }
    return bytes;
  }
}

export function extAuthzCheck(ctx: EnvoyContext): handleUnaryCall<Buffer, Buffer> {
  const answers = new EncodedAnswers();
  return (call, callback) => void check(ctx, answers, callback, call.request);
}

async function check(
  ctx: EnvoyContext,
  answers: EncodedAnswers,
  callback: sendUnaryData<Buffer>,
  bytes: Buffer,
): Promise<void> {
  const started = callStarted(ctx);
  let result: Buffer;
  try {
    const req = decodeBounded<CheckRequestObject>(
      envoyProtos().checkRequest,
      bytes,
      ctx.maxDecodeBytes,
      'CheckRequest',
    );
    const outcome = await checkBag(ctx, bagOfCheck(req));
    result = answers.bytes(outcome.code, outcome.message, outcome.http, outcome.upstreamHeaders, outcome.removeHeaders);
  } catch (err) {
    // As Mixer's bridge answered: INTERNAL with what the rules could not build.
    const cause =
      err instanceof DispatchError
        ? Object.assign(new Error(`performing check operation failed: ${err.message}`), { code: status.INTERNAL })
        : err;
    failed(ctx, METHOD, callback, started, cause);
    return;
  }
  answered(ctx, METHOD, callback, started, result);
}

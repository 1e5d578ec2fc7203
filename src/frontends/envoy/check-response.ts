// A check's outcome -> the CheckResponse Envoy needs. Only status.code
// decides for Envoy; on a deny it answers the client with denied_response's
// HTTP status, or with 403 (Envoy 1.20+) or status 0 (Envoy up to 1.19)
// when that is empty, so a deny always carries an explicit status: the
// handler's DirectHttpResponse when it gives one, else the HTTP code
// Mixer's filter derived from the RPC code.
import { status } from '@grpc/grpc-js';
import { envoyProtos } from '../../wire/envoy.js';

import type { HttpAnswer } from '../../record/types.js';

export interface CheckAnswer {
  /** google.rpc code: 0 allows. */
  code: number;
  message: string;
  http?: HttpAnswer | undefined;
  /** Request headers to set upstream on an allow. */
  upstreamHeaders?: Readonly<Record<string, string>> | undefined;
  /** Request headers to remove on an allow. */
  removeHeaders?: readonly string[] | undefined;
}

// The HTTP code of each RPC code when an adapter gives none (Mixer's
// status.HTTPStatusFromCode, which its RouteDirective used).
const HTTP_OF_RPC: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 408,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 412,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

export function httpStatusOf(rpcCode: number): number {
  return HTTP_OF_RPC[rpcCode] ?? 500;
}

interface HeaderOption {
  header: { key: string; value: string };
}

/** Response headers for the deny: Set-Cookie's comma-joined cookies become one header each, as Mixer's directive did. */
function headerOptions(headers: Readonly<Record<string, string>>): HeaderOption[] {
  const out: HeaderOption[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === 'set-cookie') {
      for (const cookie of value.split(',')) out.push({ header: { key, value: cookie } });
    } else out.push({ header: { key, value } });
  }
  return out;
}

export function encodeCheckResponse(answer: CheckAnswer): Buffer {
  const { checkResponse } = envoyProtos();
  // Zero values left out, as a proto3 encoder leaves them (protobufjs writes what it is given).
  const rpcStatus: Record<string, unknown> = {};
  if (answer.code !== 0) rpcStatus.code = answer.code;
  if (answer.message !== '') rpcStatus.message = answer.message;
  const body: Record<string, unknown> = { status: rpcStatus };
  if (answer.code === (status.OK as number)) {
    const ok: Record<string, unknown> = {};
    const headers = headerOptions(answer.upstreamHeaders ?? {});
    if (headers.length > 0) ok.headers = headers;
    if (answer.removeHeaders && answer.removeHeaders.length > 0) ok.headers_to_remove = [...answer.removeHeaders];
    body.ok_response = ok;
  } else {
    const http = answer.http;
    const denied: Record<string, unknown> = {
      status: { code: http && http.code !== 0 ? http.code : httpStatusOf(answer.code) },
    };
    const headers = headerOptions(http?.headers ?? {});
    if (headers.length > 0) denied.headers = headers;
    if (http?.body) denied.body = http.body;
    body.denied_response = denied;
  }
  return Buffer.from(checkResponse.encode(checkResponse.fromObject(body)).finish());
}

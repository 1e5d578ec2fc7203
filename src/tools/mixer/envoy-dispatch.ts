// The stand-in's Envoy modes: an attribute set sent as Envoy would send it,
// to the adapter's Envoy front-ends instead of its Mixer handle services.
// The adapter applies its own --operator-config; the stand-in only builds
// the message (ext_authz Check, or an access-log stream) and shows the answer.
import { statusName } from '../../recording/calls.js';
import type { Bag } from '../../opconfig/attributes.js';
import { envoyProtos } from '../../wire/envoy.js';
import type { ClientPool } from './client.js';
import { checkRequestOf } from './envoy-check-request.js';
import { logKindOf, logsMessageOf, type LogKind } from './envoy-log-entries.js';
import { displayOf, encodeObject, notCarried, seenInCheck, seenInLogs } from './envoy-round-trip.js';

export const CHECK_VERSIONS = ['v3', 'v2', 'v2alpha'] as const;
export const LOG_VERSIONS = ['v3', 'v2'] as const;
export type EnvoyVersion = (typeof CHECK_VERSIONS)[number];

export const checkPath = (v: EnvoyVersion): string => `/envoy.service.auth.${v}.Authorization/Check`;
export const logsPath = (v: EnvoyVersion): string => `/envoy.service.accesslog.${v}.AccessLogService/StreamAccessLogs`;

// Without a deadline a server that never ends the stream would hang the command.
const CALL_TIMEOUT_MS = 10_000;

export interface EnvoyContext {
  pool: ClientPool;
  /** The adapter's gRPC address. */
  address: string;
  version: EnvoyVersion;
}

export interface RpcStatus {
  code: number;
  name: string;
  details: string;
}

const rpcStatus = (code: number, details: string): RpcStatus => ({ code, name: statusName(code), details });

/** envoy.service.auth.v3.CheckResponse as decoded. */
export interface CheckResponseView {
  status?: { code?: number; message?: string };
  denied_response?: {
    status?: { code?: string | number };
    headers?: { header?: { key?: string; value?: string }; append?: { value?: boolean } }[];
    body?: string;
  };
  ok_response?: {
    headers?: { header?: { key?: string; value?: string }; append?: { value?: boolean } }[];
    headers_to_remove?: string[];
  };
}

export interface EnvoyCheckOutcome {
  kind: 'envoy-check';
  path: string;
  address: string;
  /** The CheckRequest sent, decoded. */
  request: unknown;
  /** Attributes of the set the adapter does not get as given. */
  notSent: string[];
  /** Set when the Check RPC itself failed. */
  rpcError: RpcStatus | undefined;
  /** The CheckResponse's status: code 0 allows. */
  status: { code: number; name: string; message: string };
  response: CheckResponseView | undefined;
  ms: number;
}

export interface LogStreamReport {
  path: string;
  logKind: LogKind;
  entries: number;
  /** The StreamAccessLogsMessage sent, decoded. */
  message: unknown;
  /** The stream's final status. */
  status: RpcStatus;
  /** How many messages the server sent back (Envoy reads none). */
  responses: number;
  ms: number;
}

export interface EnvoyReportOutcome {
  kind: 'envoy-report';
  address: string;
  /** One stream per log kind present (Envoy's HTTP and TCP loggers stream apart). */
  streams: LogStreamReport[];
  notSent: string[];
}

/** One ext_authz Check for one attribute set. */
export async function envoyCheck(bag: Bag, ctx: EnvoyContext): Promise<EnvoyCheckOutcome> {
  const { checkRequest, checkResponse } = envoyProtos();
  const bytes = encodeObject(checkRequest, checkRequestOf(bag));
  const path = checkPath(ctx.version);
  const started = performance.now();
  const result = await ctx.pool.call(ctx.address, path, bytes, CALL_TIMEOUT_MS);
  const outcome: EnvoyCheckOutcome = {
    kind: 'envoy-check',
    path,
    address: ctx.address,
    request: displayOf(checkRequest, bytes),
    notSent: notCarried(bag, seenInCheck(checkRequest, bytes)),
    rpcError: undefined,
    status: { code: 0, name: 'OK', message: '' },
    response: undefined,
    ms: performance.now() - started,
  };
  if (result.code !== 0 || !result.response) {
    outcome.rpcError = rpcStatus(result.code, result.details);
    return outcome;
  }
  const response = displayOf<CheckResponseView>(checkResponse, result.response);
  const code = response.status?.code ?? 0;
  outcome.response = response;
  outcome.status = { code, name: statusName(code), message: response.status?.message ?? '' };
  return outcome;
}

/** Every set as an access-log entry, one stream per kind (HTTP, TCP) with one message each. */
export async function envoyReport(bags: readonly Bag[], ctx: EnvoyContext): Promise<EnvoyReportOutcome> {
  const { logsMessage } = envoyProtos();
  const path = logsPath(ctx.version);
  const kinds = (['http', 'tcp'] as const).filter((k) => bags.some((b) => logKindOf(b) === k));
  const notSent = new Set<string>();
  const streams = await Promise.all(
    kinds.map(async (logKind): Promise<LogStreamReport> => {
      const sets = bags.filter((b) => logKindOf(b) === logKind);
      const bytes = encodeObject(logsMessage, logsMessageOf(logKind, sets));
      const seen = seenInLogs(logsMessage, bytes);
      sets.forEach((bag, i) => notCarried(bag, seen[i]!).forEach((n) => notSent.add(n)));
      const started = performance.now();
      const result = await ctx.pool.stream(ctx.address, path, [bytes], CALL_TIMEOUT_MS);
      return {
        path,
        logKind,
        entries: sets.length,
        message: displayOf(logsMessage, bytes),
        status: rpcStatus(result.code, result.details),
        responses: result.responses.length,
        ms: performance.now() - started,
      };
    }),
  );
  return { kind: 'envoy-report', address: ctx.address, streams, notSent: [...notSent].sort() };
}

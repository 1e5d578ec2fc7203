// Attribute bags -> matching rules -> handle calls, with Mixer's batching
// (report: one call per handler and template; check: one per instance) and
// its way of folding results into one answer.
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH } from '../../wire/load.js';
import { decodeView, statusName, type CallRecorder } from '../../recording/calls.js';
import type { Bag } from '../../opconfig/attributes.js';
import type { ClientPool } from './client.js';
import type { HandlerConfig, MixerConfig } from '../../opconfig/config.js';
import { TEMPLATES, type TemplateName } from '../../opconfig/instances.js';
import { encodeHandleRequest, matchingActions, tryBuild, type BuiltInstance } from '../../opconfig/rules.js';

export interface DispatchContext {
  pool: ClientPool;
  /** Overrides every handler's connection.address. */
  address: string | undefined;
  /** The dedup_id of the next call to `handler` (Mixer: a counter per handler). */
  nextDedupId: (handler: string) => string;
  recorder: CallRecorder | undefined;
}

export interface CallReport {
  handler: string;
  template: TemplateName;
  method: string;
  address: string;
  dedupId: string;
  instances: string[];
  code: number;
  codeName: string;
  details: string;
  /** The decoded response (OK calls). */
  response?: unknown;
  ms: number;
}

export interface ReportOutcome {
  kind: 'report';
  /** What Mixer's Report RPC would return: OK, or UNKNOWN with the joined errors. */
  code: 'OK' | 'UNKNOWN';
  message: string;
  calls: CallReport[];
  errors: string[];
}

export interface CheckOutcome {
  kind: 'check';
  /** Set when Mixer's Check RPC itself would fail (INTERNAL). */
  rpcError: { code: 'INTERNAL'; message: string } | undefined;
  status: { code: number; name: string; message: string };
  validUseCount: number;
  /** Nanoseconds. */
  validDuration: bigint;
  calls: CallReport[];
  errors: string[];
}

// google.rpc.Code / gRPC status OK.
const OK = 0;

const METHODS: Record<TemplateName, string> = { metric: METRIC_METHOD_PATH, authorization: AUTHORIZATION_METHOD_PATH };

// Mixer's answer to an OK check whose handlers asked for no caching limits.
export const DEFAULT_VALID_USE_COUNT = 10000;
export const DEFAULT_VALID_DURATION = 60_000_000_000n;

async function send(
  ctx: DispatchContext,
  handler: HandlerConfig,
  template: TemplateName,
  instances: readonly BuiltInstance[],
): Promise<CallReport> {
  const method = METHODS[template];
  const dedupId = ctx.nextDedupId(handler.fullName);
  const bytes = encodeHandleRequest(
    instances.map((i) => i.bytes),
    handler.adapterConfig,
    dedupId,
  );
  const address = ctx.address ?? handler.address;
  const sent = new Date();
  const started = performance.now();
  const result = await ctx.pool.call(address, method, bytes, handler.timeoutMs, handler.dial);
  const ms = performance.now() - started;
  ctx.recorder?.record(sent, method, bytes, result, result.response);
  const report: CallReport = {
    handler: handler.fullName,
    template,
    method,
    address,
    dedupId,
    instances: instances.map((i) => i.name),
    code: result.code,
    codeName: statusName(result.code),
    details: result.details,
    ms,
  };
  if (result.response) report.response = decodeView(method, 'response', result.response);
  return report;
}

// grpc-go's names of the status codes, as Mixer's error texts print them.
const GO_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export function goCodeName(code: number): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

/** A failed adapter call as grpc-go prints its error. */
function failure(call: CallReport): string {
  return `rpc error: code = ${goCodeName(call.code)} desc = ${call.details}`;
}

/** Mixer joins errors with hashicorp/go-multierror's list format. */
export function multiError(errors: readonly string[]): string {
  const head = errors.length === 1 ? '1 error occurred:' : `${errors.length} errors occurred:`;
  return `${head}\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** One Report with every bag in it (like a proxy's batched Report). */
export async function dispatchReport(
  config: MixerConfig,
  bags: readonly Bag[],
  ctx: DispatchContext,
): Promise<ReportOutcome> {
  const errors: string[] = [];
  const batches = new Map<string, { handler: HandlerConfig; template: TemplateName; instances: BuiltInstance[] }>();
  for (const bag of bags) {
    for (const action of matchingActions(config, bag, errors)) {
      for (const inst of action.instances) {
        if (TEMPLATES[inst.template] !== 'REPORT') continue; // check instances only go out on Check
        const msg = tryBuild(inst, bag, errors);
        if (!msg) continue;
        const key = `${action.handler.fullName}\u0000${inst.template}`;
        let batch = batches.get(key);
        if (!batch) batches.set(key, (batch = { handler: action.handler, template: inst.template, instances: [] }));
        batch.instances.push(msg);
      }
    }
  }
  const calls = await Promise.all([...batches.values()].map((b) => send(ctx, b.handler, b.template, b.instances)));
  for (const c of calls) if (c.code !== OK) errors.push(failure(c));
  const code = errors.length > 0 ? 'UNKNOWN' : 'OK';
  return { kind: 'report', code, message: errors.length > 0 ? multiError(errors) : '', calls, errors };
}

interface CheckResultView {
  status?: { code?: number; message?: string };
  valid_duration?: { seconds?: string; nanos?: number };
  valid_use_count?: number;
}

/** One Check for one bag. */
export async function dispatchCheck(config: MixerConfig, bag: Bag, ctx: DispatchContext): Promise<CheckOutcome> {
  const errors: string[] = [];
  const pending: { handler: HandlerConfig; template: TemplateName; msg: BuiltInstance }[] = [];
  for (const action of matchingActions(config, bag, errors)) {
    for (const inst of action.instances) {
      if (TEMPLATES[inst.template] !== 'CHECK') continue;
      const msg = tryBuild(inst, bag, errors);
      if (msg) pending.push({ handler: action.handler, template: inst.template, msg });
    }
  }
  const outcome: CheckOutcome = {
    kind: 'check',
    rpcError: undefined,
    status: { code: 0, name: 'OK', message: '' },
    validUseCount: 0,
    validDuration: 0n,
    calls: [],
    errors,
  };
  // Mixer does not call any adapter when an instance cannot be built.
  if (errors.length === 0) {
    outcome.calls = await Promise.all(pending.map((p) => send(ctx, p.handler, p.template, [p.msg])));
  }
  for (const c of outcome.calls) if (c.code !== OK) errors.push(failure(c));
  if (errors.length > 0) {
    outcome.rpcError = { code: 'INTERNAL', message: `performing check operation failed: ${multiError(errors)}` };
    return outcome;
  }
  const denials: string[] = [];
  let useCount: number | undefined;
  let duration: bigint | undefined;
  for (const c of outcome.calls) {
    const r = (c.response ?? {}) as CheckResultView;
    const code = r.status?.code ?? 0;
    if (code !== 0) {
      if (outcome.status.code === 0) outcome.status = { code, name: statusName(code), message: '' };
      denials.push(`${c.handler}:${r.status?.message ?? ''}`);
    }
    const d = BigInt(r.valid_duration?.seconds ?? '0') * 1_000_000_000n + BigInt(r.valid_duration?.nanos ?? 0);
    const n = r.valid_use_count ?? 0;
    useCount = useCount === undefined ? n : Math.min(useCount, n);
    duration = duration === undefined ? d : d < duration ? d : duration;
  }
  outcome.status.message = denials.join(', ');
  outcome.validUseCount = useCount ?? 0;
  outcome.validDuration = duration ?? 0n;
  if (outcome.status.code === 0 && outcome.validUseCount === 0 && outcome.validDuration === 0n) {
    outcome.validUseCount = DEFAULT_VALID_USE_COUNT;
    outcome.validDuration = DEFAULT_VALID_DURATION;
  }
  return outcome;
}

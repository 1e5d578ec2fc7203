// Attribute bags from Envoy -> the rules of the operator config -> the
// instances those rules build (the bytes Mixer would have sent) -> the same
// core calls the Mixer handle services make, in this process. Checks fold
// their results as Mixer's dispatcher does: the first denial's code, every
// denial's "<handler>:<message>", joined.
import { status } from '@grpc/grpc-js';
import type { Bag } from '../../opconfig/attributes.js';
import type { HandlerConfig, MixerConfig } from '../../opconfig/config.js';
import { TEMPLATES } from '../../opconfig/instances.js';
import { encodeHandleRequest, matchingActions, tryBuild, type BuiltInstance } from '../../opconfig/rules.js';
import { decideAuthorization, decisionAnswered } from '../mixer/authorization-call.js';
import { inlineRecords } from '../mixer/metric-service.js';
import { keepDecisionRecord } from '../../core/decision-record.js';
import type { CoreContext } from '../../core/context.js';
import { writeToSink } from '../../core/sink-call.js';
import type { Decision, HttpAnswer, MetricRecord } from '../../record/types.js';
import type { Sink } from '../../sinks/sink.js';

/** What the operator config gives a bag: the instances built, or why they could not be. */
export class DispatchError extends Error {
  readonly code = status.INTERNAL;
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

export interface EnvoyContext extends CoreContext {
  /** The operator config in use (read once per request). */
  operatorConfig(): MixerConfig;
  /** Mixer's dedup ids: a counter per handler. */
  nextDedupId(handler: string): string;
}

export interface CheckOutcome {
  /** google.rpc code: 0 allows. */
  code: number;
  message: string;
  /** The first denial's HTTP answer, as Mixer took the first denial's DirectHttpResponse. */
  http?: HttpAnswer | undefined;
  /** Request headers for upstream on an allow: each matched key's id under its handler's key_id_header. */
  upstreamHeaders?: Record<string, string> | undefined;
  /** key_id_header names with no key id to carry: removed, so a client cannot send its own. */
  removeHeaders?: string[] | undefined;
  /** The decisions, in rule order (empty: no rule selected the request). */
  decisions: { handler: string; decision: Decision; keyIdHeader: string }[];
}

const CODES: Record<Decision['code'], number> = {
  OK: status.OK,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
};

/** One check: every authorization instance the rules build for `bag`, decided and recorded. */
export async function checkBag(ctx: EnvoyContext, bag: Bag): Promise<CheckOutcome> {
  const config = ctx.operatorConfig();
  const errors: string[] = [];
  const pending: { handler: HandlerConfig; msg: BuiltInstance }[] = [];
  for (const action of matchingActions(config, bag, errors)) {
    for (const inst of action.instances) {
      if (TEMPLATES[inst.template] !== 'CHECK') continue;
      const msg = tryBuild(inst, bag, errors);
      if (msg) pending.push({ handler: action.handler, msg });
    }
  }
  // As Mixer: an instance that cannot be built fails the whole check, and no handler runs.
  if (errors.length > 0) throw new DispatchError(errors);
  const decisions = await Promise.all(pending.map((p) => decideOne(ctx, p.handler, p.msg)));
  const outcome: CheckOutcome = { code: status.OK, message: '', decisions };
  const denials: string[] = [];
  for (const { handler, decision, keyIdHeader } of decisions) {
    if (decision.code === 'OK') {
      if (keyIdHeader === '') continue;
      if (decision.keyId !== undefined) (outcome.upstreamHeaders ??= {})[keyIdHeader] = decision.keyId;
      else (outcome.removeHeaders ??= []).push(keyIdHeader);
      continue;
    }
    if (outcome.code === (status.OK as number)) {
      outcome.code = CODES[decision.code];
      outcome.http = decision.http;
    }
    denials.push(`${handler}:${decision.message}`);
  }
  outcome.message = denials.join(', ');
  if (outcome.code !== (status.OK as number)) {
    outcome.upstreamHeaders = undefined;
    outcome.removeHeaders = undefined;
  }
  // A header another decision sets is not also removed.
  if (outcome.removeHeaders && outcome.upstreamHeaders) {
    const set = outcome.upstreamHeaders;
    outcome.removeHeaders = outcome.removeHeaders.filter((h) => !(h in set));
  }
  return outcome;
}

async function decideOne(
  ctx: EnvoyContext,
  handler: HandlerConfig,
  msg: BuiltInstance,
): Promise<{ handler: string; decision: Decision; keyIdHeader: string }> {
  const bytes = encodeHandleRequest([msg.bytes], handler.adapterConfig, ctx.nextDedupId(handler.fullName));
  const decided = decideAuthorization(ctx, bytes, 'envoy');
  await keepDecisionRecord(ctx, decided.handler, decided.record);
  decisionAnswered(ctx, decided, 'envoy');
  return { handler: handler.fullName, decision: decided.decision, keyIdHeader: decided.handler.config.keyIdHeader };
}

/** What became of one bag's records. */
export type BagResult =
  /** Every record the rules made of it is on its sink. */
  | { outcome: 'written' }
  /** No rule made a record of it. */
  | { outcome: 'unmatched' }
  /** A rule's match or instance could not be evaluated on it (the first problem). */
  | { outcome: 'unbuilt'; problem: string }
  /** A write of (some of) its records failed. */
  | { outcome: 'failed'; error: unknown };

/** A report built and not yet written: one HandleMetricRequest per handler, as Mixer batches a Report. */
export interface BuiltReport {
  calls: { handler: HandlerConfig; request: Buffer; dedupId: string; bags: number[] }[];
  /** Per bag, in the order given: what became of it so far (`written` until a write fails). */
  bags: BagResult[];
}

/** What a report of several bags wrote. */
export interface ReportOutcome {
  /** Records written (one per metric instance built). */
  records: number;
  /** Per bag, in the order given. */
  bags: BagResult[];
}

const WRITTEN: BagResult = { outcome: 'written' };
const UNMATCHED: BagResult = { outcome: 'unmatched' };

/**
 * Builds the report of `bags` (one access-log message's entries, in order;
 * each is dropped once its instances are built): the rules' metric
 * instances, one request per handler with the instances in bag order.
 */
export function buildReport(
  ctx: Pick<EnvoyContext, 'operatorConfig' | 'nextDedupId'>,
  bags: Iterable<Bag>,
): BuiltReport {
  const config = ctx.operatorConfig();
  const results: BagResult[] = [];
  const batches = new Map<HandlerConfig, { instances: Buffer[]; bags: number[] }>();
  const problems: string[] = [];
  for (const bag of bags) {
    const index = results.length;
    let made = 0;
    for (const action of matchingActions(config, bag, problems)) {
      for (const inst of action.instances) {
        if (TEMPLATES[inst.template] !== 'REPORT') continue;
        const msg = tryBuild(inst, bag, problems);
        if (!msg) continue;
        made++;
        let batch = batches.get(action.handler);
        if (!batch) batches.set(action.handler, (batch = { instances: [], bags: [] }));
        batch.instances.push(msg.bytes);
        if (batch.bags.at(-1) !== index) batch.bags.push(index);
      }
    }
    if (problems.length > 0) {
      results.push({ outcome: 'unbuilt', problem: problems[0]! });
      problems.length = 0;
    } else results.push(made > 0 ? WRITTEN : UNMATCHED);
  }
  const calls = [...batches].map(([handler, { instances, bags: indexes }]) => {
    const dedupId = ctx.nextDedupId(handler.fullName);
    return { handler, request: encodeHandleRequest(instances, handler.adapterConfig, dedupId), dedupId, bags: indexes };
  });
  return { calls, bags: results };
}

const writeRecords = (sink: Sink, signal: AbortSignal, records: readonly MetricRecord[]): Promise<void> =>
  sink.write(records, signal);

/**
 * Writes a built report through the same core calls as a Mixer Report;
 * resolves once every write has settled, with what became of each bag.
 * Never rejects.
 */
export async function writeReport(ctx: EnvoyContext, built: BuiltReport): Promise<ReportOutcome> {
  const written = await Promise.allSettled(
    built.calls.map(async ({ request }) => {
      const made = inlineRecords(ctx, request, 'envoy');
      if (!made) return 0;
      await writeToSink(ctx, made.handler, writeRecords, made.list);
      return made.list.length;
    }),
  );
  let records = 0;
  const results = built.bags;
  written.forEach((settled, i) => {
    if (settled.status === 'fulfilled') {
      records += settled.value;
      return;
    }
    for (const index of built.calls[i]!.bags) {
      if (results[index]!.outcome !== 'unbuilt') results[index] = { outcome: 'failed', error: settled.reason };
    }
  });
  return { records, bags: results };
}

/** Builds and writes the report of `bags` (see buildReport, writeReport). */
export async function reportBags(ctx: EnvoyContext, bags: Iterable<Bag>): Promise<ReportOutcome> {
  return writeReport(ctx, buildReport(ctx, bags));
}

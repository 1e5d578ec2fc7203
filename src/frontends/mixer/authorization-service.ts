// /authorization.HandleAuthorizationService/HandleAuthorization: decide,
// record the decision, then answer with its CheckResult (encoded once per
// handler and decision, see check-results.ts).
import type { handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { CheckResults } from './check-results.js';
import { decideAuthorization, decisionAnswered } from './authorization-call.js';
import { keepDecisionRecord } from '../../core/decision-record.js';
import type { ServiceContext } from './service-context.js';
import { answered, callStarted, failed } from './service-context.js';

const METHOD = 'HandleAuthorization';

export function handleAuthorization(ctx: ServiceContext, answers: CheckResults): handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => void check(ctx, answers, callback, call.request);
}

/** One check, answered from here: one async function per call (each costs ~0.4 KB of heap). */
async function check(
  ctx: ServiceContext,
  answers: CheckResults,
  callback: sendUnaryData<Buffer>,
  bytes: Buffer,
): Promise<void> {
  const started = callStarted(ctx);
  let result: Buffer;
  try {
    const decided = decideAuthorization(ctx, bytes, 'mixer');
    await keepDecisionRecord(ctx, decided.handler, decided.record);
    decisionAnswered(ctx, decided, 'mixer');
    result = answers.bytes(decided.handler.config, decided.decision);
  } catch (err) {
    failed(ctx, METHOD, callback, started, err);
    return;
  }
  answered(ctx, METHOD, callback, started, result);
}

// /authorization.HandleAuthorizationService/HandleAuthorization: decide,
// record the decision, then answer with its CheckResult (encoded once per
// handler and decision, see check-results.ts).
import type { handleUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { authorizationInput, authorizationRecord } from './instance.js';
import { InvalidInputError } from '../../common/errors.js';
import { decodeAuthorizationRequest } from './request.js';
import { authorize, DECISION_REASONS, type DecisionReason } from '../../core/authorize.js';
import type { CheckResults } from './check-results.js';
import { keepDecisionRecord } from '../../core/decision-record.js';
import type { ServiceContext } from './service-context.js';
import { answered, callStarted, failed } from './service-context.js';

/** The log line of each reason to deny, made once. */
const DENIED = Object.fromEntries(DECISION_REASONS.map((r) => [r, `authorization denied: ${r}`])) as Record<
  DecisionReason,
  string
>;

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
    const { request: req, rawToken } = decodeAuthorizationRequest(bytes, ctx.maxDecodeBytes);
    const handler = ctx.handlers.resolve(req.adapter_config);
    if (!req.instance) throw new InvalidInputError('instance: missing (an authorization call carries exactly one)');
    const input = authorizationInput(req.instance);
    ctx.metrics.instances('authorization', handler.id, 1);
    const { decision, reason } = authorize(handler.config, input.subject, rawToken);
    const record = authorizationRecord(input, decision, {
      dedupId: req.dedup_id,
      receivedAt: ctx.receivedAt(),
      config: handler.config.view,
    });
    await keepDecisionRecord(ctx, handler, record);
    const allowed = decision.code === 'OK';
    ctx.metrics.decided(handler.id, allowed, reason);
    // The reason class only: the token and its digest never reach a log.
    if (!allowed) ctx.notes.note('info', DENIED[reason], { handler: handler.id, reason });
    // The fields object is built only when debug is on (most calls at the default level).
    if (ctx.log.isLevelEnabled('debug'))
      ctx.log.debug(
        { dedupId: req.dedup_id, instance: input.instance, decision: decision.code, reason },
        'HandleAuthorization done',
      );
    result = answers.bytes(handler.config, decision);
  } catch (err) {
    failed(ctx, METHOD, callback, started, err);
    return;
  }
  answered(ctx, METHOD, callback, started, result);
}

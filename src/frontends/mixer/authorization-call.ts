// One HandleAuthorizationRequest, decided and recorded: what the Mixer
// handle service answers, and what the Envoy ext_authz front-end runs for
// each authorization instance its rules build (the same bytes Mixer would
// send, so both front-ends decide and record alike). Two synchronous steps
// around the caller's own await of the decision record: a helper async
// function would cost every Mixer check another promise layer.
import { authorizationInput, authorizationRecord } from './instance.js';
import { InvalidInputError } from '../../common/errors.js';
import { decodeAuthorizationRequest } from './request.js';
import { authorize, DECISION_REASONS, type DecisionReason } from '../../core/authorize.js';
import type { Handler } from '../../core/handler-table.js';
import type { CoreContext, FrontEnd } from '../../core/context.js';
import type { AuthorizationRecord, Decision } from '../../record/types.js';

/** The log line of each reason to deny, made once. */
const DENIED = Object.fromEntries(DECISION_REASONS.map((r) => [r, `authorization denied: ${r}`])) as Record<
  DecisionReason,
  string
>;

export interface Decided {
  handler: Handler;
  decision: Decision;
  reason: DecisionReason;
  /** Its decision record: the caller keeps it (keepDecisionRecord) before answering. */
  record: AuthorizationRecord;
}

/** Decodes and decides; throws for bad input. */
export function decideAuthorization(ctx: CoreContext, bytes: Buffer, frontEnd: FrontEnd): Decided {
  const { request: req, rawToken } = decodeAuthorizationRequest(bytes, ctx.maxDecodeBytes);
  const handler = ctx.handlers.resolve(req.adapter_config);
  if (!req.instance) throw new InvalidInputError('instance: missing (an authorization call carries exactly one)');
  const input = authorizationInput(req.instance);
  ctx.metrics.instances('authorization', handler.id, 1, frontEnd);
  const keySet = handler.config.keySet === '' ? undefined : ctx.keySets?.get(handler.config.keySet);
  const { decision, reason } = authorize(handler.config, input.subject, rawToken, keySet);
  const record = authorizationRecord(input, decision, {
    dedupId: req.dedup_id,
    receivedAt: ctx.receivedAt(),
    config: handler.config.view,
  });
  return { handler, decision, reason, record };
}

/** Counts and logs a decision once its record is kept, just before it is answered. */
export function decisionAnswered(ctx: CoreContext, decided: Decided, frontEnd: FrontEnd): void {
  const { handler, decision, reason } = decided;
  const allowed = decision.code === 'OK' && decision.wouldBe === undefined;
  ctx.metrics.decided(handler.id, decision, reason, frontEnd);
  if (reason === 'key_set_empty') ctx.keySetMissing?.(handler.config.keySet);
  // The reason class only: the token and its digest never reach a log.
  if (!allowed) ctx.notes.note('info', DENIED[reason], { handler: handler.id, reason, frontEnd });
  // The fields object is built only when debug is on (most calls at the default level).
  if (ctx.log.isLevelEnabled('debug'))
    ctx.log.debug(
      {
        dedupId: decided.record.dedupId,
        instance: decided.record.instance,
        decision: decision.code,
        reason,
        frontEnd,
      },
      frontEnd === 'mixer' ? 'HandleAuthorization done' : 'ext_authz check decided',
    );
}

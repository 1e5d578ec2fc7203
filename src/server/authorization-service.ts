// /authorization.HandleAuthorizationService/HandleAuthorization: decide,
// record the decision, then answer with a CheckResult.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { HandleAuthorizationRequest__Output } from '../generated/authorization/HandleAuthorizationRequest.js';
import type { CheckResult } from '../generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import { authorizationInput, maskToken } from '../decode/instance.js';
import { InvalidInputError } from '../decode/errors.js';
import { authorize } from '../policy/authorize.js';
import type { AuthorizationRecord } from '../record/types.js';
import type { ServiceContext } from './service-context.js';
import { answer } from './service-context.js';

const GRPC_CODES = { OK: 0, PERMISSION_DENIED: 7 } as const;

export function handleAuthorization(
  ctx: ServiceContext,
): handleUnaryCall<HandleAuthorizationRequest__Output, CheckResult> {
  return (call, callback) => {
    answer(ctx, 'HandleAuthorization', callback, async () => {
      const req = call.request;
      const handler = ctx.handlers.resolve(req.adapter_config);
      if (!req.instance) throw new InvalidInputError('instance: missing (an authorization call carries exactly one)');
      const input = authorizationInput(req.instance);
      const decision = authorize(handler.config, input.subject);
      const record: AuthorizationRecord = {
        template: 'authorization',
        instance: input.instance,
        dedupId: req.dedup_id,
        receivedAt: ctx.now().toISOString(),
        config: handler.config.view,
        subject: input.subject && { ...input.subject, properties: maskToken(input.subject.properties) },
        action: input.action && { ...input.action, properties: maskToken(input.action.properties) },
        decision,
      };
      await ctx.handlers.withSink(handler, (sink) => sink.write([record]));
      ctx.log.debug(
        { dedupId: req.dedup_id, instance: input.instance, decision: decision.code },
        'HandleAuthorization done',
      );
      const { seconds, nanos } = handler.config.validDuration;
      return {
        status: { code: GRPC_CODES[decision.code], message: decision.message },
        valid_duration: { seconds, nanos },
        valid_use_count: decision.validUseCount,
      };
    });
  };
}

// /authorization.HandleAuthorizationService/HandleAuthorization: decide,
// record the decision, then answer with a CheckResult.
import type { handleUnaryCall } from '@grpc/grpc-js';
import type { CheckResult } from '../generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import { authorizationInput, authorizationRecord } from '../decode/instance.js';
import { InvalidInputError } from '../decode/errors.js';
import { decodeAuthorizationRequest } from '../decode/request.js';
import { authorize } from '../policy/authorize.js';
import type { ServiceContext } from './service-context.js';
import { answer } from './service-context.js';

const GRPC_CODES = { OK: 0, PERMISSION_DENIED: 7 } as const;

export function handleAuthorization(ctx: ServiceContext): handleUnaryCall<Buffer, CheckResult> {
  return (call, callback) => {
    answer(ctx, 'HandleAuthorization', callback, async () => {
      const req = decodeAuthorizationRequest(call.request);
      const handler = ctx.handlers.resolve(req.adapter_config);
      if (!req.instance) throw new InvalidInputError('instance: missing (an authorization call carries exactly one)');
      const input = authorizationInput(req.instance);
      ctx.metrics.instances('authorization', handler.id, 1);
      const decision = authorize(handler.config, input.subject);
      const record = authorizationRecord(input, decision, {
        dedupId: req.dedup_id,
        receivedAt: ctx.now().toISOString(),
        config: handler.config.view,
      });
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

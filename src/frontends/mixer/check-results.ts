// The CheckResult bytes of each decision a handler gives. Decisions are made
// once per handler configuration, reason and key id and shared (see
// core/authorize.ts), so each is encoded once and the same bytes go out on
// every call after. A decision with an HTTP answer carries it as Mixer
// expects an adapter to: a DirectHttpResponse packed in the status details.
import type { HandlerConfig } from '../../core/params/params.js';
import type { CheckResult } from '../../generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import { directHttpResponseAny, serviceDefinitions } from '../../wire/load.js';
import type { Decision } from '../../record/types.js';

const STATUS_CODES = { OK: 0, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16 } as const;

function checkResult(config: HandlerConfig, decision: Decision): CheckResult {
  // Allow and deny have separate validity (Params valid_* and deny_valid_*);
  // the decision already carries the one that applies.
  const allowed = decision.code === 'OK' && decision.wouldBe === undefined;
  const { seconds, nanos } = allowed ? config.validDuration : config.denyValidDuration;
  return {
    status: {
      code: STATUS_CODES[decision.code],
      message: decision.message,
      details: decision.http ? [directHttpResponseAny(decision.http)] : [],
    },
    valid_duration: { seconds, nanos },
    valid_use_count: decision.validUseCount,
  };
}

/** The encoded answer of each decision, kept as long as the decision is (its config's lifetime). */
export class CheckResults {
  private readonly encoded = new WeakMap<Decision, Buffer>();

  bytes(config: HandlerConfig, decision: Decision): Buffer {
    let bytes = this.encoded.get(decision);
    if (bytes === undefined) {
      bytes = serviceDefinitions().authorization.HandleAuthorization.responseSerialize(checkResult(config, decision));
      this.encoded.set(decision, bytes);
    }
    return bytes;
  }
}

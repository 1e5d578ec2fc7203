// The CheckResult bytes of each decision a handler gives. A handler has two
// distinct answers (allow and deny; the deny reason stays off the wire), both
// fixed by its config, so each is encoded once and the same bytes go out on
// every call after.
import type { HandlerConfig } from '../../core/params/params.js';
import type { CheckResult } from '../../generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import { serviceDefinitions } from '../../wire/load.js';
import type { Decision } from '../../record/types.js';

const STATUS_CODES = { OK: 0, PERMISSION_DENIED: 7 } as const;

/** Distinct answers kept per config; there are two, this is only a guard. */
const MAX_PER_CONFIG = 16;

function checkResult(config: HandlerConfig, decision: Decision): CheckResult {
  // Allow and deny have separate validity (Params valid_* and deny_valid_*).
  const allowed = decision.code === 'OK';
  const { seconds, nanos } = allowed ? config.validDuration : config.denyValidDuration;
  return {
    status: { code: STATUS_CODES[decision.code], message: decision.message },
    valid_duration: { seconds, nanos },
    valid_use_count: allowed ? config.validUseCount : config.denyValidUseCount,
  };
}

interface Encoded {
  code: Decision['code'];
  message: string;
  bytes: Buffer;
}

/** The encoded answers of each handler configuration, kept as long as the configuration is. */
export class CheckResults {
  private readonly encoded = new WeakMap<HandlerConfig, Encoded[]>();

  bytes(config: HandlerConfig, decision: Decision): Buffer {
    let byDecision = this.encoded.get(config);
    if (!byDecision) {
      byDecision = [];
      this.encoded.set(config, byDecision);
    }
    // Validity and use count come from the config this list belongs to; a
    // decision is its code and message (compared, not joined into a key per call).
    for (const e of byDecision) if (e.code === decision.code && e.message === decision.message) return e.bytes;
    const bytes = serviceDefinitions().authorization.HandleAuthorization.responseSerialize(
      checkResult(config, decision),
    );
    if (byDecision.length < MAX_PER_CONFIG) byDecision.push({ code: decision.code, message: decision.message, bytes });
    return bytes;
  }
}

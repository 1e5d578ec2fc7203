// The walkthrough's rule: allow when the subject's custom_token_header equals
// the handler's auth_key. Compared as SHA-256 digests in constant time, so
// the time taken says nothing about the key's length or content.
import type { HandlerConfig } from '../decode/params.js';
import { TOKEN_PROPERTY } from '../decode/instance.js';
import type { Decision, SubjectView } from '../record/types.js';
import { digestSecret, sameDigest } from './secret-digest.js';

export const UNAUTHORIZED = 'Unauthorized...';

/**
 * Why a decision went its way, as a metric label and a log field. A class,
 * never anything derived from the token.
 */
export const DECISION_REASONS = [
  'token_matches',
  'no_key_configured',
  'missing_token',
  'token_not_string',
  'wrong_token',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

export interface Verdict {
  decision: Decision;
  reason: DecisionReason;
}

export function authorize(config: HandlerConfig, subject: SubjectView | null): Verdict {
  const validity = { validDuration: config.view.validDuration, validUseCount: config.validUseCount };
  const deny = (message: string, reason: DecisionReason): Verdict => ({
    decision: { code: 'PERMISSION_DENIED', message, ...validity },
    reason,
  });
  if (!config.authKeyDigest) {
    return deny(`${UNAUTHORIZED} (the handler has no auth_key configured)`, 'no_key_configured');
  }
  const token = subject?.properties.values[TOKEN_PROPERTY];
  if (token === undefined) {
    return deny(`${UNAUTHORIZED} (the instance has no subject property ${TOKEN_PROPERTY})`, 'missing_token');
  }
  if (typeof token !== 'string' || subject?.properties.kinds[TOKEN_PROPERTY] !== 'STRING') {
    return deny(`${UNAUTHORIZED} (subject property ${TOKEN_PROPERTY} is not a string)`, 'token_not_string');
  }
  if (!sameDigest(digestSecret(token), config.authKeyDigest)) return deny(UNAUTHORIZED, 'wrong_token');
  return { decision: { code: 'OK', message: '', ...validity }, reason: 'token_matches' };
}

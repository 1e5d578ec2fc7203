// The walkthrough's rule: allow when the subject's custom_token_header equals
// the handler's auth_key. Compared as SHA-256 digests of the bytes in
// constant time, so the time taken says nothing about the key's length or
// content. The token's bytes are compared as they arrived (headers may carry
// bytes that are not UTF-8); auth_key as its UTF-8 bytes.
//
// A denial always says the walkthrough's "Unauthorized..." on the wire: Mixer
// prefixes it with the handler name and Envoy shows it to the end user, so
// the reason goes only to the record and the log.
import type { HandlerConfig } from './params/params.js';
import type { Decision, SubjectView } from '../record/types.js';
import { digestSecret, sameDigest } from '../security/secret-digest.js';

/** The subject property that carries the caller's token (walkthrough name). */
export const TOKEN_PROPERTY = 'custom_token_header';

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

/** What records say for each reason (Decision.reason); "" for an allow. */
const REASON_TEXT: Record<DecisionReason, string> = {
  token_matches: '',
  no_key_configured: 'the handler has no auth_key configured',
  missing_token: `the instance has no subject property ${TOKEN_PROPERTY}`,
  token_not_string: `subject property ${TOKEN_PROPERTY} is not a string`,
  wrong_token: `the ${TOKEN_PROPERTY} token does not match auth_key`,
};

/** Shared by every call that gets it (see verdict()): read-only. */
export interface Verdict {
  readonly decision: Decision;
  readonly reason: DecisionReason;
}

// Each config gives one Decision per reason, the same on every call: they are
// made once per config and shared (frozen) by every record that carries them.
const verdicts = new WeakMap<HandlerConfig, Partial<Record<DecisionReason, Verdict>>>();

function verdict(config: HandlerConfig, reason: DecisionReason): Verdict {
  let byReason = verdicts.get(config);
  if (byReason === undefined) {
    byReason = {};
    verdicts.set(config, byReason);
  }
  let made = byReason[reason];
  if (made === undefined) {
    const allowed = reason === 'token_matches';
    const decision: Decision = Object.freeze({
      code: allowed ? 'OK' : 'PERMISSION_DENIED',
      message: allowed ? '' : UNAUTHORIZED,
      reason: REASON_TEXT[reason],
      validDuration: allowed ? config.view.validDuration : config.view.denyValidDuration,
      validUseCount: allowed ? config.validUseCount : config.denyValidUseCount,
    });
    made = Object.freeze({ decision, reason });
    byReason[reason] = made;
  }
  return made;
}

/**
 * `rawToken`: the token's bytes when they are not valid UTF-8 (its string in
 * `subject` then holds U+FFFD); undefined means the string is exact.
 */
export function authorize(config: HandlerConfig, subject: SubjectView | null, rawToken?: Buffer): Verdict {
  if (!config.authKeyDigest) return verdict(config, 'no_key_configured');
  const token = subject?.properties.values[TOKEN_PROPERTY];
  if (token === undefined) return verdict(config, 'missing_token');
  if (typeof token !== 'string' || subject?.properties.kinds[TOKEN_PROPERTY] !== 'STRING') {
    return verdict(config, 'token_not_string');
  }
  // A string is hashed as its UTF-8 bytes: no Buffer per call.
  const presented = digestSecret(rawToken ?? token);
  return verdict(config, sameDigest(presented, config.authKeyDigest) ? 'token_matches' : 'wrong_token');
}

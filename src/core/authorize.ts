// The walkthrough's rule, grown for production: allow when the subject's
// custom_token_header equals the handler's auth_key, or one of the keys of
// the handler's key set (`key_set`, files under --keys-dir). Compared as
// SHA-256 digests of the bytes: auth_key in constant time, key sets by the
// digest's lookup, so the time taken says nothing about a key's length or
// content. The token's bytes are compared as they arrived (headers may
// carry bytes that are not UTF-8); auth_key as its UTF-8 bytes.
//
// A denial always says the walkthrough's "Unauthorized..." on the wire: Mixer
// prefixes it with the handler name and Envoy shows it to the end user, so
// the reason goes only to the record, the log and the metric label. In
// audit mode every request is allowed and the decision says what enforcing
// would have answered.
import type { HandlerConfig } from './params/params.js';
import type { Decision, SubjectView } from '../record/types.js';
import { digestSecret, sameDigest } from '../security/secret-digest.js';
import type { KeySet } from '../security/key-sets.js';

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
  'key_set_empty',
  'missing_token',
  'empty_token',
  'token_not_string',
  'malformed_token',
  'wrong_token',
  'unknown_key',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

/** What records say for each reason (Decision.reason); "" for an allow. */
const REASON_TEXT: Record<DecisionReason, string> = {
  token_matches: '',
  no_key_configured: 'the handler has no auth_key configured',
  key_set_empty: "the handler's key_set has no usable key under --keys-dir",
  missing_token: `the instance has no subject property ${TOKEN_PROPERTY}`,
  // The sample's `| ""` fallback sends a missing header as an empty token.
  empty_token: `the ${TOKEN_PROPERTY} token is empty (a missing header)`,
  token_not_string: `subject property ${TOKEN_PROPERTY} is not a string`,
  malformed_token: `subject property ${TOKEN_PROPERTY} holds control characters`,
  wrong_token: `the ${TOKEN_PROPERTY} token does not match auth_key`,
  unknown_key: `the ${TOKEN_PROPERTY} token matches no key of the handler's key_set or auth_key`,
};

/** Reasons that say the caller did not authenticate at all (401 when Params ask for it), rather than with a wrong key. */
const UNAUTHENTICATED_REASONS: ReadonlySet<DecisionReason> = new Set([
  'missing_token',
  'empty_token',
  'token_not_string',
  'malformed_token',
]);

/** Shared by every call that gets it (see verdict()): read-only. */
export interface Verdict {
  readonly decision: Decision;
  readonly reason: DecisionReason;
}

// Each config gives one Decision per reason (and, for an allow by a key-set
// key, per key id), the same on every call: they are made once per config and
// shared (frozen) by every record that carries them. Looked up by reason and
// by key id, no key string built per call; a key set's ids are bounded by its
// files.
interface ConfigVerdicts {
  byReason: Partial<Record<DecisionReason, Verdict>>;
  byKeyId: Map<string, Verdict>;
}
const verdicts = new WeakMap<HandlerConfig, ConfigVerdicts>();

function verdict(config: HandlerConfig, reason: DecisionReason, keyId = ''): Verdict {
  let made = verdicts.get(config);
  if (made === undefined) {
    made = { byReason: {}, byKeyId: new Map() };
    verdicts.set(config, made);
  }
  let v = keyId === '' ? made.byReason[reason] : made.byKeyId.get(keyId);
  if (v === undefined) {
    v = Object.freeze({ decision: decide(config, reason, keyId), reason });
    if (keyId === '') made.byReason[reason] = v;
    else made.byKeyId.set(keyId, v);
  }
  return v;
}

function decide(config: HandlerConfig, reason: DecisionReason, keyId: string): Decision {
  const allowed = reason === 'token_matches';
  const unauthenticated = UNAUTHENTICATED_REASONS.has(reason) && config.unauthenticated !== undefined;
  const enforced: Decision['code'] = allowed ? 'OK' : unauthenticated ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED';
  const audit = config.mode === 'audit' && !allowed;
  const http = allowed || audit ? undefined : unauthenticated ? config.unauthenticated : config.forbidden;
  const decision: Decision = {
    code: audit ? 'OK' : enforced,
    message: allowed || audit ? '' : UNAUTHORIZED,
    reason: REASON_TEXT[reason],
    // A would-be denial is cached as a denial is (not at all by default), so
    // every one of them is seen and recorded while the rule is audited.
    validDuration: allowed ? config.view.validDuration : config.view.denyValidDuration,
    validUseCount: allowed ? config.validUseCount : config.denyValidUseCount,
  };
  if (keyId !== '') decision.keyId = keyId;
  if (audit) decision.wouldBe = enforced as 'PERMISSION_DENIED' | 'UNAUTHENTICATED';
  if (http) decision.http = http;
  return Object.freeze(decision);
}

// A header value may hold visible characters and inner spaces: a token
// with control characters did not come from a well-formed header.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * `rawToken`: the token's bytes when they are not valid UTF-8 (its string in
 * `subject` then holds U+FFFD); undefined means the string is exact.
 * `keySet`: the handler's key set as loaded (undefined: none loaded under that name).
 */
export function authorize(
  config: HandlerConfig,
  subject: SubjectView | null,
  rawToken?: Buffer,
  keySet?: KeySet,
): Verdict {
  const usesKeySet = config.keySet !== '';
  if (!config.authKeyDigest && !usesKeySet) return verdict(config, 'no_key_configured');
  if (usesKeySet && !config.authKeyDigest && (keySet === undefined || keySet.ids.size === 0)) {
    return verdict(config, 'key_set_empty');
  }
  const token = subject?.properties.values[TOKEN_PROPERTY];
  if (token === undefined) return verdict(config, 'missing_token');
  if (token === '') return verdict(config, 'empty_token');
  if (typeof token !== 'string' || subject?.properties.kinds[TOKEN_PROPERTY] !== 'STRING') {
    return verdict(config, 'token_not_string');
  }
  if (CONTROL.test(token)) return verdict(config, 'malformed_token');
  // A string is hashed as its UTF-8 bytes: no Buffer per call.
  const presented = digestSecret(rawToken ?? token);
  if (config.authKeyDigest && sameDigest(presented, config.authKeyDigest)) return verdict(config, 'token_matches');
  const keyId = keySet?.ids.get(presented);
  if (keyId !== undefined) return verdict(config, 'token_matches', keyId);
  return verdict(config, usesKeySet ? 'unknown_key' : 'wrong_token');
}

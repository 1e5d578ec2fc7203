// The walkthrough's rule: allow when the subject's custom_token_header equals
// the handler's auth_key. Compared as SHA-256 digests of the bytes in
// constant time, so the time taken says nothing about the key's length or
// content. The token's bytes are compared as they arrived (headers may carry
// bytes that are not UTF-8); auth_key as its UTF-8 bytes.
//
// A denial always says the walkthrough's "Unauthorized..." on the wire: Mixer
// prefixes it with the handler name and Envoy shows it to the end user, so
// the reason goes only to the record and the log.
import type { HandlerConfig } from '../decode/params.js';
import { TOKEN_PROPERTY } from '../decode/instance.js';
import type { Decision, SubjectView } from '../record/types.js';
import { digestSecret, sameDigest } from './secret-digest.js';

export const UNAUTHORIZED = 'Unauthorized...';

/**
 * `rawToken`: the token's bytes when they are not valid UTF-8 (its string in
 * `subject` then holds U+FFFD); undefined means the string is exact.
 */
export function authorize(config: HandlerConfig, subject: SubjectView | null, rawToken?: Buffer): Decision {
  const deny = (reason: string): Decision => ({
    code: 'PERMISSION_DENIED',
    message: UNAUTHORIZED,
    reason,
    validDuration: config.view.denyValidDuration,
    validUseCount: config.denyValidUseCount,
  });
  if (!config.authKeyDigest) return deny('the handler has no auth_key configured');
  const token = subject?.properties.values[TOKEN_PROPERTY];
  if (token === undefined) return deny(`the instance has no subject property ${TOKEN_PROPERTY}`);
  if (typeof token !== 'string' || subject?.properties.kinds[TOKEN_PROPERTY] !== 'STRING') {
    return deny(`subject property ${TOKEN_PROPERTY} is not a string`);
  }
  const presented = digestSecret(rawToken ?? Buffer.from(token, 'utf8'));
  if (!sameDigest(presented, config.authKeyDigest)) return deny(`the ${TOKEN_PROPERTY} token does not match auth_key`);
  return {
    code: 'OK',
    message: '',
    reason: '',
    validDuration: config.view.validDuration,
    validUseCount: config.validUseCount,
  };
}

// The walkthrough's rule: allow when the subject's custom_token_header equals
// the handler's auth_key. Compared as SHA-256 digests in constant time, so
// the time taken says nothing about the key's length or content.
import type { HandlerConfig } from '../decode/params.js';
import { TOKEN_PROPERTY } from '../decode/instance.js';
import type { Decision, SubjectView } from '../record/types.js';
import { digestSecret, sameDigest } from './secret-digest.js';

export const UNAUTHORIZED = 'Unauthorized...';

export function authorize(config: HandlerConfig, subject: SubjectView | null): Decision {
  const validity = { validDuration: config.view.validDuration, validUseCount: config.validUseCount };
  const deny = (message: string): Decision => ({ code: 'PERMISSION_DENIED', message, ...validity });
  if (!config.authKeyDigest) return deny(`${UNAUTHORIZED} (the handler has no auth_key configured)`);
  const token = subject?.properties.values[TOKEN_PROPERTY];
  if (token === undefined) return deny(`${UNAUTHORIZED} (the instance has no subject property ${TOKEN_PROPERTY})`);
  if (typeof token !== 'string' || subject?.properties.kinds[TOKEN_PROPERTY] !== 'STRING') {
    return deny(`${UNAUTHORIZED} (subject property ${TOKEN_PROPERTY} is not a string)`);
  }
  if (!sameDigest(digestSecret(token), config.authKeyDigest)) return deny(UNAUTHORIZED);
  return { code: 'OK', message: '', ...validity };
}

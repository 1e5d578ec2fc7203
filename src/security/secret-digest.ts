// Secrets (auth_key, the token file) are kept only as SHA-256 digests, and a
// presented value is hashed the same way before comparing. Digests all have
// the same length, so the comparison's time says nothing about the secret's
// length, and the loop below never exits early, so nothing about its content.
// crypto.hash is the one-shot form: a fifth of createHash's cost per call.
import { hash } from 'node:crypto';

/** Hex SHA-256 of a secret. */
export type SecretDigest = string & { readonly secretDigest: true };

export function digestSecret(value: string | Buffer): SecretDigest {
  return hash('sha256', value, 'hex') as SecretDigest;
}

/** Constant-time equality of two digests. */
export function sameDigest(a: SecretDigest, b: SecretDigest): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

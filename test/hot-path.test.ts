// The small pieces that keep per-call work down: digests compared in
// constant time, the cached record clock, and CheckResults encoded once.
import { describe, expect, it } from 'vitest';
import { decodeParams } from '../src/core/params/params.js';
import { digestSecret, sameDigest } from '../src/security/secret-digest.js';
import { authorize } from '../src/core/authorize.js';
import { serviceDefinitions } from '../src/wire/load.js';
import { CheckResults } from '../src/frontends/mixer/check-results.js';
import { isoClock } from '../src/core/clock.js';
import { paramsAny } from './helpers/clients.js';

describe('secret digests', () => {
  it('are equal exactly when the secrets are', () => {
    expect(sameDigest(digestSecret('abc'), digestSecret('abc'))).toBe(true);
    expect(sameDigest(digestSecret('abc'), digestSecret('abd'))).toBe(false);
    expect(sameDigest(digestSecret('abc'), digestSecret('abc '))).toBe(false);
    expect(sameDigest(digestSecret('abc'), digestSecret(Buffer.from('abc')))).toBe(true);
  });

  it('never hold the secret itself', () => {
    const d = digestSecret('hunter2');
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(d).not.toContain('hunter2');
  });
});

describe('isoClock', () => {
  it('gives the RFC 3339 time, reusing the text within one millisecond', () => {
    let ms = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const clock = isoClock(() => ms);
    const first = clock();
    expect(first).toBe('2026-01-02T03:04:05.678Z');
    expect(clock()).toBe(first);
    ms += 1;
    expect(clock()).toBe('2026-01-02T03:04:05.679Z');
  });
});

describe('CheckResults', () => {
  const answers = new CheckResults();
  const encodedCheckResult = answers.bytes.bind(answers);
  const decode = serviceDefinitions().authorization.HandleAuthorization.responseDeserialize;
  const config = decodeParams(
    paramsAny({
      auth_key: 'k',
      valid_duration: '30s',
      valid_use_count: 5,
      deny_valid_duration: '2.5s',
      deny_valid_use_count: 3,
    }),
    ['stdout'],
  );
  const allow = authorize(config, { user: '', groups: '', properties: tokenProperty('k') }).decision;
  const deny = authorize(config, { user: '', groups: '', properties: tokenProperty('x') }).decision;

  function tokenProperty(token: string) {
    return { values: { custom_token_header: token }, kinds: { custom_token_header: 'STRING' as const } };
  }

  it('encodes each decision of a config once', () => {
    expect(encodedCheckResult(config, allow)).toBe(encodedCheckResult(config, allow));
    expect(encodedCheckResult(config, deny)).not.toEqual(encodedCheckResult(config, allow));
  });

  it('holds the status, validity and use count of the decision', () => {
    expect(decode(encodedCheckResult(config, deny))).toMatchObject({
      status: { code: 7, message: 'Unauthorized...' },
      valid_duration: { seconds: '2', nanos: 500_000_000 },
      valid_use_count: 3,
    });
    expect(decode(encodedCheckResult(config, allow))).toMatchObject({
      status: { code: 0, message: '' },
      valid_duration: { seconds: '30', nanos: 0 },
      valid_use_count: 5,
    });
  });
});

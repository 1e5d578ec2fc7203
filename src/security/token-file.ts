// The token Mixer sends with every call (`connection.authentication.tls`
// with token_path), read from our own copy of that file and re-read while
// running so a rotated token takes effect without a restart. Only its
// SHA-256 digest is kept, compared in constant time (see secret-digest.ts).
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { digestSecret, sameDigest, type SecretDigest } from './secret-digest.js';
import { readFileFor } from './tls-files.js';

// A header value: visible ASCII, inner spaces allowed (HTTP/2 forbids
// leading and trailing whitespace, and Mixer sends the bytes as they are).
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The token in a token file, byte for byte, as Mixer reads its token_path:
 * Mixer sends the whole file, so a file ending in a newline (`echo tok >
 * file`, many Secret tools) makes Mixer send `Bearer tok\n`, a header value
 * HTTP/2 may not carry; the adapter's HTTP/2 layer drops such a header and
 * the call arrives without a token. The same file is refused here, saying
 * so, instead of being trimmed into a token no call can present.
 * Messages never quote the token.
 */
export function tokenDigest(bytes: Buffer): SecretDigest {
  if (bytes.length === 0) throw new Error('token file is empty');
  if (/[\r\n]$/.test(bytes.toString('latin1'))) {
    throw new Error(
      'token file ends with a newline. Mixer sends its token_path file byte for byte, and HTTP/2 drops a header ' +
        'whose value holds a newline, so the token would never arrive: write the file without it ' +
        '(printf \'%s\' "$TOKEN" > file, or kubectl create secret --from-literal) and use the same file for Mixer',
    );
  }
  if (!HEADER_SAFE.test(bytes.toString('latin1'))) {
    throw new Error('token file holds bytes a header cannot carry (only visible ASCII and inner spaces)');
  }
  return digestSecret(bytes);
}

export class TokenFile {
  private digest: SecretDigest;
  private readonly timer: NodeJS.Timeout;
  private lastProblem = '';

  /** Reads the file now (throws with the reason) and every `reloadIntervalMs` after. */
  constructor(
    private readonly file: string,
    reloadIntervalMs: number,
    private readonly log: Logger,
  ) {
    const bytes = readFileFor('--token-file', file);
    try {
      this.digest = tokenDigest(bytes);
    } catch (err) {
      throw new Error(`--token-file ${file}: ${(err as Error).message}`);
    }
    log.info({ tokenFile: file }, 'token file loaded');
    this.timer = setInterval(() => void this.reload(), reloadIntervalMs);
    // Watching alone must not keep the process alive after shutdown.
    this.timer.unref();
  }

  matches(presented: string): boolean {
    return sameDigest(digestSecret(Buffer.from(presented, 'latin1')), this.digest);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async reload(): Promise<void> {
    let digest: SecretDigest;
    try {
      digest = tokenDigest(await readFile(this.file));
    } catch (err) {
      const message = `token file not reloaded, keeping the previous token: ${(err as Error).message}`;
      if (message !== this.lastProblem) this.log.warn({ tokenFile: this.file }, message);
      this.lastProblem = message;
      return;
    }
    this.lastProblem = '';
    if (digest === this.digest) return;
    this.digest = digest;
    this.log.info({ tokenFile: this.file }, 'token file reloaded');
  }
}

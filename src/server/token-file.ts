// The token Mixer sends with every call (`connection.authentication.tls`
// with token_path), read from our own copy of that file and re-read while
// running so a rotated token takes effect without a restart. Only its
// SHA-256 digest is kept, compared in constant time (see secret-digest.ts).
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { digestSecret, sameDigest, type SecretDigest } from '../policy/secret-digest.js';
import { readFileFor } from './tls-files.js';

// A header value: visible ASCII, inner spaces allowed (HTTP/2 forbids
// leading and trailing whitespace, and Mixer sends the bytes as they are).
const HEADER_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * The token in a token file. Trailing CR/LF are dropped: editors and
 * `echo` add them, and Mixer could not send them in a header anyway.
 * Everything else must be a valid header value. Messages never quote it.
 */
export function tokenDigest(bytes: Buffer): SecretDigest {
  const token = bytes.toString('latin1').replace(/[\r\n]+$/, '');
  if (token === '') throw new Error('token file is empty');
  if (!HEADER_SAFE.test(token)) {
    throw new Error('token file holds bytes a header cannot carry (only visible ASCII and inner spaces)');
  }
  return digestSecret(Buffer.from(token, 'latin1'));
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

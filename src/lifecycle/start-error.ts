// Start-up failures an operator fixes by changing a flag, worded for one
// line: what failed and why (errno code first, as Node words it:
// `EADDRINUSE: address already in use`), then in parentheses which flag to
// change. The original error stays as `cause` for --log-level debug.

export class StartError extends Error {
  override name = 'StartError';
  constructor(what: string, fix: string, options: { cause?: unknown } = {}) {
    super(`${what} (${fix})`, options);
  }
}

// Node's own wording, without the syscall and path it appends.
const ERRNO: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTFOUND: 'no such host',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The errno code of an error: Node's `code`, or the one grpc-js quotes (`... [listen EADDRINUSE: ...]`). */
function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  return /\b(E[A-Z]{2,}[A-Z_]*):/.exec(messageOf(err))?.[1];
}

/** `EADDRINUSE: address already in use`, or the message itself when it carries no errno code. */
function why(err: unknown): string {
  const code = errnoOf(err);
  if (code === undefined) return messageOf(err);
  const text = ERRNO[code];
  return text === undefined ? code : `${code}: ${text}`;
}

/** `cannot listen on 127.0.0.1:8000: EADDRINUSE: address already in use (choose another port or --host)`. */
export function listenError(err: unknown, address: string, fix: string): StartError {
  return new StartError(`cannot listen on ${address}: ${why(err)}`, fix, { cause: err });
}

/** `--record /x/calls.jsonl: ENOENT: no such file or directory (point --record at ...)`. */
export function flagFileError(flag: string, file: string, err: unknown, fix: string): StartError {
  return new StartError(`${flag} ${file}: ${why(err)}`, fix, { cause: err });
}

/**
 * An error that already starts with the flag and file (`--tls-cert /x.pem:
 * ENOENT: no such file or directory, open '/x.pem'`) reworded the same way.
 * Errors that carry no errno code (a certificate the TLS stack refuses)
 * already say which flag and file and why; they pass unchanged.
 */
export function fileError(err: unknown, fix: (flag: string) => string): unknown {
  const named = /^(--[a-z-]+) (\S+): /.exec(messageOf(err));
  if (!named || errnoOf(err) === undefined) return err;
  return flagFileError(named[1]!, named[2]!, err, fix(named[1]!));
}

/** host:port as grpc-js and the logs print it (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

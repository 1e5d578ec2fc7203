// Who may call the adapter: transport credentials (plaintext, TLS, mutual
// TLS) plus per-call checks (client SAN allow-list, token header), built
// from options in one place for the composition root.
import { ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import { callAuthInterceptor, type RefusalListener } from './call-auth.js';
import { clientSanAllowList, tokenHeader, type CallCheck } from './call-checks.js';
import { createTlsCredentials, type ReloadListener, type TlsOptions } from './tls.js';
import { TokenFile } from './token-file.js';

export interface SecurityOptions {
  /** Absent: plaintext, as a handler without `connection.authentication` dials. */
  tls?: TlsOptions | undefined;
  /** URI SANs (SPIFFE IDs) a client certificate must carry one of; empty: any verified client. */
  allowedClientSans: string[];
  /** File holding the token every call must present. */
  tokenFile?: string | undefined;
  /** Header carrying the token: `authorization` (Bearer or plain) or a custom one. */
  tokenHeader: string;
  /** How often certificate and token files are re-read. */
  reloadIntervalMs: number;
}

export const DEFAULT_SECURITY: SecurityOptions = {
  allowedClientSans: [],
  tokenHeader: 'authorization',
  reloadIntervalMs: 10_000,
};

export interface Security {
  credentials: ServerCredentials;
  interceptors: ServerInterceptor[];
  /** Resolves once the TLS certificate completed a loopback handshake (at once without TLS); rejects with why not. */
  verified: Promise<void>;
  /** Stops watching files. Idempotent. */
  close(): void;
}

const HEADER_NAME = /^[a-z0-9][a-z0-9_.-]*$/;
const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

/** Every combination problem at once, each naming its flag. */
export function securityProblems(options: SecurityOptions): string[] {
  const problems: string[] = [];
  const tls = options.tls;
  if (tls?.requireClientCert && tls.clientCaFile === undefined) {
    problems.push('--require-client-cert needs --tls-client-ca (the CA client certificates must chain to)');
  }
  if (options.allowedClientSans.length > 0 && tls?.clientCaFile === undefined) {
    problems.push('--allowed-client-san needs --tls-client-ca (SANs are trusted only from verified certificates)');
  }
  for (const san of options.allowedClientSans) {
    if (!URI.test(san))
      problems.push(`--allowed-client-san: expected a URI such as spiffe://td/ns/x/sa/y, got "${san}"`);
  }
  if (options.tokenFile !== undefined && !tls) {
    problems.push('--token-file needs --tls-cert and --tls-key (a token sent in plaintext can be read on the way)');
  }
  const header = options.tokenHeader;
  if (!HEADER_NAME.test(header) || header.endsWith('-bin') || header.startsWith('grpc-')) {
    problems.push(`--token-header: expected a lower-case text header name (not grpc-*, not *-bin), got "${header}"`);
  }
  if (!Number.isInteger(options.reloadIntervalMs) || options.reloadIntervalMs < 100) {
    problems.push(`--reload-interval: expected an integer of at least 100 (ms), got ${options.reloadIntervalMs}`);
  }
  return problems;
}

/** Reads the files (throws with the reason) and starts watching them. */
export function openSecurity(
  options: SecurityOptions,
  log: Logger,
  onTlsReload?: ReloadListener,
  onRefused: RefusalListener = (method, peer, rejection) =>
    log.warn({ method, peer, code: rejection.code }, `call refused: ${rejection.details}`),
): Security {
  const problems = securityProblems(options);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const closers: (() => void)[] = [];
  const close = (): void => {
    for (const c of closers.splice(0)) c();
  };
  try {
    let credentials = ServerCredentials.createInsecure();
    let verified = Promise.resolve();
    if (options.tls) {
      const tls = createTlsCredentials(options.tls, options.reloadIntervalMs, log, onTlsReload);
      closers.push(() => tls.close());
      credentials = tls.credentials;
      verified = tls.verified;
    }
    const checks: CallCheck[] = [];
    if (options.allowedClientSans.length > 0) checks.push(clientSanAllowList(options.allowedClientSans));
    if (options.tokenFile !== undefined) {
      const token = new TokenFile(options.tokenFile, options.reloadIntervalMs, log);
      closers.push(() => token.close());
      checks.push(tokenHeader(token, options.tokenHeader));
    }
    const interceptors = checks.length > 0 ? [callAuthInterceptor(checks, onRefused)] : [];
    return { credentials, interceptors, verified, close };
  } catch (err) {
    close();
    throw err;
  }
}

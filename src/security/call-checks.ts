// Per-call checks on who is calling: the client certificate's SPIFFE ID
// against --allowed-client-san, and the token header against --token-file.
// Each returns the status to answer with, or undefined to let the call in.
import { status, type Metadata, type ServerInterceptingCallInterface } from '@grpc/grpc-js';
import { uriSans } from './san.js';
import type { TokenFile } from './token-file.js';

export type AuthContext = ReturnType<ServerInterceptingCallInterface['getAuthContext']>;

export interface CallRejection {
  code: status.UNAUTHENTICATED | status.PERMISSION_DENIED;
  details: string;
}

export type CallCheck = (metadata: Metadata, auth: AuthContext) => CallRejection | undefined;

export function clientSanAllowList(allowed: readonly string[]): CallCheck {
  const set = new Set(allowed);
  return (_metadata, auth) => {
    // grpc-js reports a peer certificate only when it chained to the client CA.
    const cert = auth.sslPeerCertificate;
    if (!cert) {
      return {
        code: status.UNAUTHENTICATED,
        details: 'a client certificate from the configured client CA is required (mutual TLS)',
      };
    }
    const sans = uriSans(cert.subjectaltname);
    if (sans.some((san) => set.has(san))) return undefined;
    const shown = sans.length === 0 ? 'no URI SAN' : `URI SANs ${sans.join(', ')}`;
    return { code: status.PERMISSION_DENIED, details: `client certificate (${shown}) is not on the allow-list` };
  };
}

/**
 * HTTP/2 drops a header whose value holds a newline before grpc-js sees it;
 * Mixer sends one when its token_path file ends in a newline (measured with
 * Mixer 1.6.14's own dial code).
 */
export const MISSING_HINT =
  " (or dropped by HTTP/2 because its value held a newline: does Mixer's token_path file end in one? Write it with printf '%s')";

/**
 * `header` as Mixer sends it: for `authorization`, `Bearer <token>` (BEARER)
 * or `<token>` (PLAIN); for a custom header, the raw token.
 */
export function tokenHeader(token: TokenFile, header: string): CallCheck {
  return (metadata) => {
    const values = metadata.get(header);
    if (values.length !== 1 || typeof values[0] !== 'string') {
      const why = values.length === 0 ? 'missing' : values.length > 1 ? 'sent more than once' : 'binary';
      return {
        code: status.UNAUTHENTICATED,
        details: `token header ${header} ${why}${values.length === 0 ? MISSING_HINT : ''}`,
      };
    }
    const value = values[0];
    const candidates = header === 'authorization' && /^bearer /i.test(value) ? [value, value.slice(7)] : [value];
    // Every candidate is compared, so timing does not tell which form matched.
    const results = candidates.map((c) => token.matches(c));
    if (results.includes(true)) return undefined;
    return { code: status.UNAUTHENTICATED, details: `token in header ${header} does not match` };
  };
}

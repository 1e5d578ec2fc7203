// Runs the per-call checks before a call reaches its handler, as a grpc-js
// server interceptor: one place for every method, and a refused call never
// decodes its request or touches a sink.
import type { IncomingHttpHeaders } from 'node:http2';
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type Server,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { bounded } from '../common/echo.js';
import { http2ServersOf } from '../transport/grpc-internals.js';
import type { CallCheck, CallRejection } from './call-checks.js';

/** Told about every refused call (metrics and the rate-limited log); `method` is the full path. */
export type RefusalListener = (method: string, peer: string, rejection: CallRejection) => void;

/**
 * Health checks stay open: kubelet and load-balancer probes carry neither
 * Mixer's token nor its certificate, and the answer (serving or not) reveals
 * nothing. The TLS handshake itself (--require-client-cert) still applies.
 */
export const UNCHECKED_METHODS: ReadonlySet<string> = new Set([
  '/grpc.health.v1.Health/Check',
  '/grpc.health.v1.Health/Watch',
]);

export function callAuthInterceptor(
  checks: readonly CallCheck[],
  refused: RefusalListener,
  unchecked: ReadonlySet<string> = UNCHECKED_METHODS,
): ServerInterceptor {
  return (method, call) => {
    if (unchecked.has(method.path)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const auth = call.getAuthContext();
        for (const check of checks) {
          const rejection = check(metadata, auth);
          if (rejection) {
            // The reason names headers and SANs, never a token's value; a
            // certificate may carry many SANs, so the message is bounded.
            const bounds = { code: rejection.code, details: bounded(rejection.details) };
            refused(method.path, call.getPeer(), bounds);
            call.sendStatus(bounds);
            return;
          }
        }
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

type StreamListener = (stream: unknown, headers: IncomingHttpHeaders, flags: number, rawHeaders?: string[]) => void;
interface StreamSource {
  prependListener(event: 'stream', listener: StreamListener): unknown;
}

/**
 * Node's HTTP/2 keeps only the first value of a repeated `authorization`
 * header (one of its single-value headers), so grpc-js, and the token check
 * after it, would never see the repeat. This puts every value of `names`
 * back on the headers grpc-js reads, from the raw header list, so a repeated
 * token header reaches the check as two values and is refused.
 *
 * Call right after bind (see transport/grpc-internals.ts).
 */
export function keepRepeatedHeaders(server: Server, names: readonly string[]): void {
  const servers = http2ServersOf(server, 'watch for repeated token headers');
  const onStream: StreamListener = (_stream, headers, _flags, rawHeaders) => {
    if (!Array.isArray(rawHeaders)) return;
    for (const name of names) {
      const values: string[] = [];
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i] === name) values.push(rawHeaders[i + 1]!);
      if (values.length > 1) headers[name] = values;
    }
  };
  // Prepended: it must run before grpc-js's own listener builds the metadata.
  for (const http2Server of servers) (http2Server as StreamSource).prependListener('stream', onStream);
}

// Runs the per-call checks before a call reaches its handler, as a grpc-js
// server interceptor: one place for every method, and a refused call never
// decodes its request or touches a sink.
import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from '@grpc/grpc-js';
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
            // The reason names headers and SANs, never a token's value.
            refused(method.path, call.getPeer(), rejection);
            call.sendStatus({ code: rejection.code, details: rejection.details });
            return;
          }
        }
        next(metadata);
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

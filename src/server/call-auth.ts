// Runs the per-call checks before a call reaches its handler, as a grpc-js
// server interceptor: one place for every method, and a refused call never
// decodes its request or touches a sink.
import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { CallCheck } from './call-checks.js';

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
  log: Logger,
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
            log.warn({ method: method.path, peer: call.getPeer(), code: rejection.code }, rejection.details);
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

// --record for the server: wraps each handler so that the request bytes
// (handlers receive requests undecoded; the recorder masks their secrets
// unless --record-secrets) and the answer are appended to a CallRecorder.
// The handlers themselves are unchanged.
import type * as grpc from '@grpc/grpc-js';
import type { CallRecorder } from '../recording/calls.js';

type RawMethod = grpc.MethodDefinition<Buffer, object>;

/** An implementation of `definition` that records every unary call, then answers as `implementation` does; streams pass through unrecorded. */
export function recordingImplementation(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  recorder: CallRecorder,
  now: () => Date,
): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(definition as Record<string, RawMethod>)) {
    // Streams (Envoy's access logs) are served as they are, not recorded.
    if (m.requestStream || m.responseStream) {
      if (implementation[name]) impl[name] = implementation[name];
      continue;
    }
    const original = implementation[name] as grpc.handleUnaryCall<Buffer, object> | undefined;
    if (!original) continue;
    impl[name] = (call: grpc.ServerUnaryCall<Buffer, object>, callback: grpc.sendUnaryData<object>) => {
      const received = now();
      original(call, (err, value, ...rest) => {
        const response = err ? undefined : m.responseSerialize(value ?? {});
        const code = err ? (err.code ?? 2) : 0;
        const details = err ? (err.details ?? ('message' in err ? err.message : '')) : '';
        recorder.record(received, m.path, call.request, { code, details }, response);
        callback(err, value, ...rest);
      });
    };
  }
  return impl;
}

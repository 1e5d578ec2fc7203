// --record for the server: wraps each method of a service so that the raw
// request bytes (captured in the deserializer) and the answer are appended
// to a CallRecorder. The handlers themselves are unchanged.
import type * as grpc from '@grpc/grpc-js';
import { recordedCall, type CallRecorder } from '../recording/calls.js';

type AnyDefinition = grpc.ServiceDefinition;
type AnyMethod = grpc.MethodDefinition<object, object>;

/** Returns a definition and implementation that record every unary call. */
export function recordingService(
  definition: AnyDefinition,
  implementation: grpc.UntypedServiceImplementation,
  recorder: CallRecorder,
  now: () => Date,
): [AnyDefinition, grpc.UntypedServiceImplementation] {
  // Raw bytes keyed by the decoded request object they produced.
  const raw = new WeakMap<object, Buffer>();
  const def: Record<string, AnyMethod> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, m] of Object.entries(definition as Record<string, AnyMethod>)) {
    def[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        const request = m.requestDeserialize(bytes);
        raw.set(request, Buffer.from(bytes));
        return request;
      },
    };
    const original = implementation[name] as grpc.handleUnaryCall<object, object> | undefined;
    if (!original || m.requestStream || m.responseStream) {
      if (original) impl[name] = original;
      continue;
    }
    impl[name] = (call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      const received = now();
      original(call, (err, value, ...rest) => {
        const bytes = raw.get(call.request);
        if (bytes) {
          const response = err ? undefined : m.responseSerialize(value ?? {});
          const code = err ? (err.code ?? 2) : 0;
          const details = err ? (err.details ?? ('message' in err ? err.message : '')) : '';
          recorder.write(recordedCall(received, m.path, bytes, { code, details }, response));
        }
        callback(err, value, ...rest);
      });
    };
  }
  return [def, impl];
}

// The grpc-js server with both handle services registered.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../protocol/load.js';
import type { CallRecorder } from '../recording/calls.js';
import { handleAuthorization } from './authorization-service.js';
import { handleMetric } from './metric-service.js';
import { recordingService } from './recorder.js';
import type { ServiceContext } from './service-context.js';

export interface ServerLimits {
  /** Largest request accepted; Mixer's report batches can be large. */
  maxReceiveMessageBytes: number;
}

/** With `recorder`, every call is also appended to it (serve --record). */
export function createAdapterServer(ctx: ServiceContext, limits: ServerLimits, recorder?: CallRecorder): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
  });
  const defs = serviceDefinitions();
  const add = (def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void => {
    if (recorder) server.addService(...recordingService(def, impl, recorder, ctx.now));
    else server.addService(def, impl);
  };
  add(defs.metric, { HandleMetric: handleMetric(ctx) });
  add(defs.authorization, { HandleAuthorization: handleAuthorization(ctx) });
  return server;
}

/** Binds insecurely to host:port and resolves with the port actually bound (port 0 picks one). */
export function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}

/** Stops accepting calls, lets in-flight ones finish; forces after `graceMs`. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

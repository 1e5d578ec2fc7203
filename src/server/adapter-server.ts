// The grpc-js server with both handle services registered.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../protocol/load.js';
import { handleAuthorization } from './authorization-service.js';
import { handleMetric } from './metric-service.js';
import type { ServiceContext } from './service-context.js';

export interface ServerLimits {
  /** Largest request accepted; Mixer's report batches can be large. */
  maxReceiveMessageBytes: number;
}

export function createAdapterServer(
  ctx: ServiceContext,
  limits: ServerLimits,
  interceptors: grpc.ServerInterceptor[] = [],
): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
    interceptors,
  });
  const defs = serviceDefinitions();
  server.addService(defs.metric, { HandleMetric: handleMetric(ctx) });
  server.addService(defs.authorization, { HandleAuthorization: handleAuthorization(ctx) });
  return server;
}

/** Binds to host:port and resolves with the port actually bound (port 0 picks one). */
export function bind(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
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

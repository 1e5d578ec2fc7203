// The grpc-js server with both handle services registered.
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitions } from '../protocol/load.js';
import { handleAuthorization } from './authorization-service.js';
import { handleMetric } from './metric-service.js';
import type { ServiceContext } from './service-context.js';

export interface ServerLimits {
  /** Largest request accepted; Mixer's report batches can be large. */
  maxReceiveMessageBytes: number;
  /**
   * Mixer keeps one connection per handler for as long as it can; ending it
   * after this many ms makes Mixer re-dial and so spread over the pods. 0 = never.
   */
  maxConnectionAgeMs?: number;
}

export function createAdapterServer(ctx: ServiceContext, limits: ServerLimits): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
    ...(limits.maxConnectionAgeMs ? { 'grpc.max_connection_age_ms': limits.maxConnectionAgeMs } : {}),
  });
  const defs = serviceDefinitions();
  server.addService(defs.metric, { HandleMetric: handleMetric(ctx) });
  server.addService(defs.authorization, { HandleAuthorization: handleAuthorization(ctx) });
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

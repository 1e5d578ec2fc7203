// The grpc-js server with both handle services registered.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { packageDefinition, serviceDefinitions } from '../protocol/load.js';
import { handleAuthorization } from './authorization-service.js';
import { handleMetric } from './metric-service.js';
import type { CallRecorder } from '../recording/calls.js';
import type { AdapterHealth } from './health.js';
import { recordingImplementation } from './recorder.js';
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

export interface ServerExtras {
  /** Every call is also appended to it (serve --record). */
  recorder?: CallRecorder | undefined;
  /** Per-call checks (client SAN allow-list, token), run before a request is decoded. */
  interceptors?: grpc.ServerInterceptor[];
}

export function createAdapterServer(
  ctx: ServiceContext,
  limits: ServerLimits,
  health: AdapterHealth,
  { recorder, interceptors = [] }: ServerExtras = {},
): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
    // Channelz keeps per-call statistics nobody reads here; off saves a few percent per small call.
    'grpc.enable_channelz': 0,
    ...(limits.maxConnectionAgeMs ? { 'grpc.max_connection_age_ms': limits.maxConnectionAgeMs } : {}),
    interceptors,
  });
  const defs = serviceDefinitions();
  const add = (def: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation): void => {
    const raw = rawMessages(def);
    server.addService(raw, recorder ? recordingImplementation(raw, impl, recorder, () => new Date()) : impl);
  };
  add(defs.metric, { HandleMetric: handleMetric(ctx) });
  add(defs.authorization, { HandleAuthorization: handleAuthorization(ctx) });
  health.addToServer(server);
  // Reflection lets grpcurl list and call the services without local protos.
  new ReflectionService(packageDefinition()).addToServer(server);
  return server;
}

/**
 * The same service with requests left as bytes (handlers decode them, see
 * decode/request.ts) and answers that may already be bytes (a handler that
 * gives the same answer often encodes it once).
 */
function rawMessages(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(def).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value)),
      },
    ]),
  );
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

/** Stops accepting calls, lets in-flight ones finish; cancels them after `graceMs`. Resolves true when it had to. */
export function shutdown(server: grpc.Server, graceMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve(true);
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

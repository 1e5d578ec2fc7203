// The grpc-js server: the front-ends' services, health and reflection, under
// the connection and stream bounds; bind and graceful shutdown.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { PackageDefinition } from '@grpc/proto-loader';
import { packageDefinition } from '../wire/load.js';
import type { CallRecorder } from '../recording/calls.js';
import type { AdapterHealth } from './health.js';
import { recordingImplementation } from './recorder.js';
import { DEFAULT_STREAM_LIMITS, guardStreams, type GuardEvent, type StreamLimits } from './stream-guard.js';

export interface ServerLimits {
  /** Largest request accepted; Mixer's report batches can be large. */
  maxReceiveMessageBytes: number;
  /**
   * Mixer keeps one connection per handler for as long as it can; ending it
   * after this many ms makes Mixer re-dial and so spread over the pods. 0 = never.
   */
  maxConnectionAgeMs?: number;
  /** Connection and stream bounds beyond grpc-js's options (defaults: DEFAULT_STREAM_LIMITS). */
  streams?: Partial<StreamLimits>;
  /** Told when a connection or stream is cut by a bound. */
  onCut?: (event: GuardEvent) => void;
}

// Streams per connection, as Mixer's own gRPC server allows.
const MAX_CONCURRENT_STREAMS = 1024;
// nghttp2's per-connection budget (headers tables, frames queued to send to
// a peer that does not read): past it, new streams on that connection are
// refused. In MB.
const MAX_SESSION_MEMORY_MB = 32;
// Pings on a quiet connection find peers that vanished; Mixer's grpc-go
// answers them. A connection with no calls for this long is closed (GOAWAY;
// Mixer re-dials when it next needs it).
const KEEPALIVE_TIME_MS = 60_000;
const KEEPALIVE_TIMEOUT_MS = 20_000;
const MAX_CONNECTION_IDLE_MS = 15 * 60_000;

/** A grpc-js server that carries its own stream bounds until bind() puts them on its listeners. */
class GuardedServer extends grpc.Server {
  constructor(
    options: grpc.ServerOptions,
    readonly streamLimits: StreamLimits,
    readonly onCut: ((event: GuardEvent) => void) | undefined,
    /** Client-streaming methods' paths: the guard bounds them per message. */
    readonly streamingPaths: ReadonlySet<string>,
  ) {
    super(options);
  }
}

export interface ServerExtras {
  /** What reflection serves instead of the Mixer services alone (the Mixer and Envoy protos together). */
  reflection?: PackageDefinition | undefined;
  /** Every call is also appended to it (serve --record). */
  recorder?: CallRecorder | undefined;
  /** Per-call checks (client SAN allow-list, token), run before a request is decoded. */
  interceptors?: grpc.ServerInterceptor[];
}

/** One gRPC service a front-end serves; requests reach it as raw bytes (see rawMessages). */
export interface FrontEndService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export function createAdapterServer(
  services: readonly FrontEndService[],
  limits: ServerLimits,
  health: AdapterHealth,
  { recorder, interceptors = [], reflection }: ServerExtras = {},
): grpc.Server {
  const streamLimits = { ...DEFAULT_STREAM_LIMITS, ...limits.streams };
  const server = new GuardedServer(
    {
      'grpc.max_receive_message_length': limits.maxReceiveMessageBytes,
      // Channelz keeps per-call statistics nobody reads here; off saves a few percent per small call.
      'grpc.enable_channelz': 0,
      'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
      'grpc-node.max_session_memory': MAX_SESSION_MEMORY_MB,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      'grpc.max_connection_idle_ms': MAX_CONNECTION_IDLE_MS,
      ...(limits.maxConnectionAgeMs ? { 'grpc.max_connection_age_ms': limits.maxConnectionAgeMs } : {}),
      interceptors,
    },
    streamLimits,
    limits.onCut,
    new Set(
      services.flatMap(({ definition }) =>
        Object.values(definition)
          .filter((m) => m.requestStream)
          .map((m) => m.path),
      ),
    ),
  );
  for (const { definition, implementation } of services) {
    const raw = rawMessages(definition);
    const impl = recorder ? recordingImplementation(raw, implementation, recorder, () => new Date()) : implementation;
    server.addService(raw, impl);
  }
  health.addToServer(server);
  // Reflection lets grpcurl list and call the services without local protos.
  new ReflectionService(reflection ?? packageDefinition()).addToServer(server);
  return server;
}

/**
 * The same service with requests left as bytes and answers that may already
 * be bytes (a handler that gives the same answer often encodes it once).
 * This is the one place the server's request deserializer is chosen: the
 * handlers decode (frontends/mixer/request.ts), so bad bytes are answered
 * INVALID_ARGUMENT, not grpc-js's INTERNAL "Error deserializing request".
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
    server.bindAsync(target, credentials, (err, bound) => {
      if (err) return reject(err);
      try {
        if (server instanceof GuardedServer)
          guardStreams(server, server.streamLimits, server.onCut, server.streamingPaths);
      } catch (guardErr) {
        server.forceShutdown();
        return reject(guardErr instanceof Error ? guardErr : new Error(String(guardErr)));
      }
      resolve(bound);
    });
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

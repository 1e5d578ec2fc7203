// Envoy's side of the access-log service for tests: StreamAccessLogsMessage
// bytes encoded by the reference client (Envoy's own protos), entries filled
// as Envoy 1.17 fills them, and a raw client stream to the adapter.
import * as grpc from '@grpc/grpc-js';
import { ALS_PATHS, envoyReference } from './envoy-reference.js';

export const LOGS_MESSAGE = 'envoy.service.accesslog.v3.StreamAccessLogsMessage';
export const LOGS_RESPONSE = 'envoy.service.accesslog.v3.StreamAccessLogsResponse';

/** A 64-bit integer as protobufjs's verify() and fromObject() take one beyond 2^53: a Long-like object. */
export function u64(value: bigint): { low: number; high: number; unsigned: boolean } {
  const v = BigInt.asUintN(64, value);
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true };
}

const address = (ip: string, port: number) => ({ socket_address: { address: ip, port_value: port } });

/** Common properties as Envoy fills them for an inbound sidecar request (contract §4.2). */
export function commonProperties(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    downstream_remote_address: address('10.1.2.3', 43210),
    downstream_direct_remote_address: address('10.1.2.3', 43210),
    downstream_local_address: address('10.4.5.6', 9080),
    start_time: { seconds: 1_700_000_000, nanos: 5_000 },
    time_to_first_upstream_rx_byte: { nanos: 2_000_000 },
    time_to_last_downstream_tx_byte: { nanos: 3_000_000 },
    upstream_cluster: 'inbound|9080|http|reviews.default.svc.cluster.local',
    response_flags: {},
    ...extra,
  };
}

/** An HTTP entry: `code` its response code, `size` its request body bytes (the sample metric's value). */
export function httpEntry(code: number, size: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    common_properties: commonProperties(),
    protocol_version: 2, // HTTP11 (verify() takes enums as numbers)
    request: {
      request_method: 1, // GET
      scheme: 'http',
      authority: 'reviews:9080',
      path: '/reviews/1',
      request_id: 'req-1',
      request_headers_bytes: 100,
      request_body_bytes: size,
    },
    response: { response_code: { value: code }, response_headers_bytes: 50, response_body_bytes: 10 },
    ...extra,
  };
}

export function tcpEntry(received: number, sent: number): Record<string, unknown> {
  return {
    common_properties: commonProperties({ upstream_cluster: 'inbound|3306||mysql.db.svc.cluster.local' }),
    connection_properties: { received_bytes: received, sent_bytes: sent },
  };
}

export const IDENTIFIER = {
  node: { id: 'sidecar~10.4.5.6~reviews-v1-abc.default~default.svc.cluster.local', cluster: 'reviews.default' },
  log_name: 'mixer-adapter-als',
};

/** A message's bytes as Envoy encodes it. */
export function logsMessage(m: {
  identifier?: Record<string, unknown>;
  http?: Record<string, unknown>[];
  tcp?: Record<string, unknown>[];
}): Buffer {
  return envoyReference().encode(LOGS_MESSAGE, {
    ...(m.identifier ? { identifier: m.identifier } : {}),
    ...(m.http ? { http_logs: { log_entry: m.http } } : {}),
    ...(m.tcp ? { tcp_logs: { log_entry: m.tcp } } : {}),
  });
}

export interface AlsAnswer {
  code: number;
  details: string;
  response?: Buffer;
}

export interface AlsCall {
  stream: grpc.ClientWritableStream<Buffer>;
  /** Settles with the stream's status (and the response, on OK). */
  answer: Promise<AlsAnswer>;
  /** Writes a message; resolves when grpc-js has handed it to HTTP/2. */
  send(message: Buffer): Promise<void>;
  close(): void;
}

/** A StreamAccessLogs stream of raw bytes on its own connection. */
export function openAls(target: string, path: string = ALS_PATHS.v3): AlsCall {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  let stream!: grpc.ClientWritableStream<Buffer>;
  const answer = new Promise<AlsAnswer>((resolve) => {
    stream = client.makeClientStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      (err, response) => {
        if (err) resolve({ code: err.code ?? 2, details: err.details });
        else resolve({ code: 0, details: '', response });
      },
    );
  });
  // A stream the server ended may still be written to by the test: its errors are in `answer`.
  stream.on('error', () => undefined);
  return {
    stream,
    answer,
    send: (message) => new Promise<void>((resolve) => stream.write(message, () => resolve())),
    close: () => client.close(),
  };
}

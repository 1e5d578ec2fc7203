// One JSON line per handle call, shared by the server's --record, the
// stand-in's --record and `replay`: raw request bytes (what goes on the
// wire), a decoded view for people, and the answer when there is one.
import { createWriteStream, type WriteStream } from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, protoRoot } from '../wire/load.js';

export interface RecordedStatus {
  code: number;
  /** The gRPC code's name, e.g. "OK", "INVALID_ARGUMENT". */
  name: string;
  details: string;
}

export interface RecordedCall {
  /** ISO time the call was received (server) or sent (stand-in). */
  time: string;
  /** gRPC method path, e.g. /metric.HandleMetricService/HandleMetric. */
  method: string;
  /** base64 of the request message bytes. */
  request: string;
  view: unknown;
  status: RecordedStatus;
  /** base64 of the response message bytes (OK calls only). */
  response?: string;
  responseView?: unknown;
}

const MESSAGES: Record<string, { request: string; response: string }> = {
  [METRIC_METHOD_PATH]: {
    request: 'metric.HandleMetricRequest',
    response: 'istio.mixer.adapter.model.v1beta1.ReportResult',
  },
  [AUTHORIZATION_METHOD_PATH]: {
    request: 'authorization.HandleAuthorizationRequest',
    response: 'istio.mixer.adapter.model.v1beta1.CheckResult',
  },
};

export function knownMethod(path: string): boolean {
  return Object.hasOwn(MESSAGES, path);
}

// JSON-safe: int64 as decimal strings, bytes as base64, oneof member named.
const VIEW = { longs: String, bytes: String, enums: String, oneofs: true } as const;

/** Decodes a request or response of `method` for display and comparison. */
export function decodeView(method: string, which: 'request' | 'response', bytes: Uint8Array): unknown {
  const names = MESSAGES[method];
  if (!names) throw new Error(`unknown method ${method}`);
  const type = protoRoot().lookupType(names[which]);
  return type.toObject(type.decode(bytes), VIEW);
}

/** Encodes a plain request object (protobufjs field names) for `method`. */
export function encodeRequest(method: string, request: Record<string, unknown>): Buffer {
  const names = MESSAGES[method];
  if (!names) throw new Error(`unknown method ${method}`);
  const type = protoRoot().lookupType(names.request);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

export function statusName(code: number): string {
  return (grpcStatus as unknown as Record<number, string>)[code] ?? String(code);
}

export function recordedCall(
  time: Date,
  method: string,
  request: Uint8Array,
  status: { code: number; details: string },
  response: Uint8Array | undefined,
): RecordedCall {
  const line: RecordedCall = {
    time: time.toISOString(),
    method,
    request: Buffer.from(request).toString('base64'),
    view: decodeView(method, 'request', request),
    status: { code: status.code, name: statusName(status.code), details: status.details },
  };
  if (response) {
    line.response = Buffer.from(response).toString('base64');
    line.responseView = decodeView(method, 'response', response);
  }
  return line;
}

/** Appends JSON lines to a file. The file holds adapter_config bytes (auth keys included): treat it as secret. */
export class CallRecorder {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  private constructor(stream: WriteStream) {
    this.stream = stream;
    stream.on('error', (err) => (this.failure ??= err));
  }

  /** Opens (appends to) `file`; rejects when it cannot be opened, so a bad path fails at start-up. */
  static open(file: string): Promise<CallRecorder> {
    return new Promise((resolve, reject) => {
      const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
      stream.once('open', () => resolve(new CallRecorder(stream)));
      stream.once('error', reject);
    });
  }

  write(call: RecordedCall): void {
    if (!this.failure) this.stream.write(JSON.stringify(call) + '\n');
  }

  /** Flushes and closes; rejects with the first write error, if any. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }
}

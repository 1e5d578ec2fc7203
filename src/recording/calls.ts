// One JSON line per handle call, shared by the server's --record, the
// stand-in's --record and `replay`: request bytes (what went on the wire,
// secrets masked unless asked for, see mask.ts), a decoded view for people,
// and the answer when there is one.
import { createWriteStream, type WriteStream } from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { envoyProtos } from '../wire/envoy.js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH, protoRoot } from '../wire/load.js';
import { ENVOY_CHECK_PATHS, maskSecrets } from './mask.js';

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
  /** base64 of the request message bytes, secrets masked unless `secrets` is "kept". */
  request: string;
  /**
   * "masked": the request's secrets were replaced by *** (`masked` says
   * which); "kept": recorded with --record-secrets. Recordings from before
   * masking have neither field: they hold everything.
   */
  secrets?: 'masked' | 'kept';
  /** What was masked, e.g. ["auth_key"], ["header authorization"]; empty when the call carried no secret. */
  masked?: string[];
  view: unknown;
  status: RecordedStatus;
  /** base64 of the response message bytes (OK calls only). */
  response?: string;
  responseView?: unknown;
}

/** Whether a recording keeps the secrets of the calls (--record-secrets) or masks them (the default). */
export type SecretsMode = 'mask' | 'keep';

interface Messages {
  root: () => protobuf.Root;
  request: string;
  response: string;
}

const MESSAGES: Record<string, Messages> = {
  [METRIC_METHOD_PATH]: {
    root: protoRoot,
    request: 'metric.HandleMetricRequest',
    response: 'istio.mixer.adapter.model.v1beta1.ReportResult',
  },
  [AUTHORIZATION_METHOD_PATH]: {
    root: protoRoot,
    request: 'authorization.HandleAuthorizationRequest',
    response: 'istio.mixer.adapter.model.v1beta1.CheckResult',
  },
  // v2 and v2alpha have the same messages as v3 (see wire/envoy.ts).
  ...Object.fromEntries(
    ENVOY_CHECK_PATHS.map((path) => [
      path,
      {
        root: () => envoyProtos().root,
        request: 'envoy.service.auth.v3.CheckRequest',
        response: 'envoy.service.auth.v3.CheckResponse',
      },
    ]),
  ),
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
  const type = names.root().lookupType(names[which]);
  return type.toObject(type.decode(bytes), VIEW);
}

/** Encodes a plain request object (protobufjs field names) for `method`. */
export function encodeRequest(method: string, request: Record<string, unknown>): Buffer {
  const names = MESSAGES[method];
  if (!names) throw new Error(`unknown method ${method}`);
  const type = names.root().lookupType(names.request);
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

export function statusName(code: number): string {
  return (grpcStatus as unknown as Record<number, string>)[code] ?? String(code);
}

/** decodeView for a recording: bytes the adapter refused may not decode, and a line is still written. */
function viewOf(method: string, which: 'request' | 'response', bytes: Uint8Array): unknown {
  try {
    return decodeView(method, which, bytes);
  } catch (err) {
    return { undecodable: (err as Error).message };
  }
}

export function recordedCall(
  time: Date,
  method: string,
  request: Uint8Array,
  status: { code: number; details: string },
  response: Uint8Array | undefined,
  secrets: SecretsMode = 'mask',
): RecordedCall {
  const masking = secrets === 'mask' ? maskSecrets(method, Buffer.from(request)) : undefined;
  const bytes = masking?.bytes ?? request;
  const line: RecordedCall = {
    time: time.toISOString(),
    method,
    request: Buffer.from(bytes).toString('base64'),
    secrets: masking ? 'masked' : 'kept',
    ...(masking ? { masked: masking.masked } : {}),
    view: viewOf(method, 'request', bytes),
    status: { code: status.code, name: statusName(status.code), details: status.details },
  };
  if (response) {
    line.response = Buffer.from(response).toString('base64');
    line.responseView = viewOf(method, 'response', response);
  }
  return line;
}

/**
 * Appends JSON lines to a file (mode 0600). With secrets "keep" the file
 * holds adapter_config bytes, auth keys and tokens included: treat it as a
 * secret.
 */
export class CallRecorder {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  private constructor(
    stream: WriteStream,
    readonly secrets: SecretsMode,
  ) {
    this.stream = stream;
    stream.on('error', (err) => (this.failure ??= err));
  }

  /** Opens (appends to) `file`; rejects when it cannot be opened, so a bad path fails at start-up. */
  static open(file: string, secrets: SecretsMode = 'mask'): Promise<CallRecorder> {
    return new Promise((resolve, reject) => {
      const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
      stream.once('open', () => resolve(new CallRecorder(stream, secrets)));
      stream.once('error', reject);
    });
  }

  /** Records one call, its secrets masked or kept as this recorder was opened. */
  record(
    time: Date,
    method: string,
    request: Uint8Array,
    status: { code: number; details: string },
    response: Uint8Array | undefined,
  ): void {
    if (!this.failure) this.write(recordedCall(time, method, request, status, response, this.secrets));
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

// Real grpc-js clients built from proto/, as any Mixer-side caller would.
import * as grpc from '@grpc/grpc-js';
import type { Params } from '../../src/generated/adapter/mygrpcadapter/config/Params.js';
import type { HandleAuthorizationRequest } from '../../src/generated/authorization/HandleAuthorizationRequest.js';
import type { CheckResult__Output } from '../../src/generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import type { ReportResult__Output } from '../../src/generated/istio/mixer/adapter/model/v1beta1/ReportResult.js';
import type { HandleMetricRequest } from '../../src/generated/metric/HandleMetricRequest.js';
import { PARAMS_MESSAGE, PARAMS_TYPE_URL, protoRoot, serviceDefinitions } from '../../src/wire/load.js';

export interface Clients {
  metric(req: HandleMetricRequest): Promise<ReportResult__Output>;
  authorization(req: HandleAuthorizationRequest): Promise<CheckResult__Output>;
  close(): void;
}

type Unary<Req, Res> = (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

function promisify<Req, Res>(fn: Unary<Req, Res>): (req: Req) => Promise<Res> {
  return (req) => new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res as Res))));
}

/** Plaintext unless `creds` says otherwise (TLS tests pass their own). */
export function connect(
  address: string,
  creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): Clients {
  const defs = serviceDefinitions();
  const MetricClient = grpc.makeGenericClientConstructor(defs.metric, 'HandleMetricService');
  const AuthClient = grpc.makeGenericClientConstructor(defs.authorization, 'HandleAuthorizationService');
  const metric = new MetricClient(address, creds, options) as unknown as Record<string, Unary<unknown, unknown>>;
  const auth = new AuthClient(address, creds, options) as unknown as Record<string, Unary<unknown, unknown>>;
  return {
    metric: promisify(metric.HandleMetric!.bind(metric)) as Clients['metric'],
    authorization: promisify(auth.HandleAuthorization!.bind(auth)) as Clients['authorization'],
    close: () => {
      (metric as unknown as grpc.Client).close();
      (auth as unknown as grpc.Client).close();
    },
  };
}

export type ParamsFields = Params;

/** adapter_config as Mixer sends it: Params encoded with protobufjs, packed in an Any. */
export function paramsAny(fields: ParamsFields): { type_url: string; value: Buffer } {
  const type = protoRoot().lookupType(PARAMS_MESSAGE);
  return { type_url: PARAMS_TYPE_URL, value: Buffer.from(type.encode(type.fromObject(fields)).finish()) };
}

export type RawAnswer = { ok: Buffer } | { code: grpc.status; details: string };

/** Sends request bytes unchanged on `method` (as Mixer's pass-through codec does) and returns the answer bytes. */
export function rawCall(client: grpc.Client, method: string, bytes: Buffer): Promise<RawAnswer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      (err: grpc.ServiceError | null, res?: Buffer) => {
        resolve(err ? { code: err.code, details: err.details } : { ok: res ?? Buffer.alloc(0) });
      },
    );
  });
}

/** rawCall's answer as a gRPC status: OK with no details when it was answered. */
export async function rawStatus(
  client: grpc.Client,
  method: string,
  bytes: Buffer,
): Promise<{ code: grpc.status; details: string }> {
  const answer = await rawCall(client, method, bytes);
  return 'ok' in answer ? { code: grpc.status.OK, details: '' } : answer;
}

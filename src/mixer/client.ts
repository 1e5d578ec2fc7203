// Raw unary calls to a handler: bytes in, bytes out, so what is sent and
// recorded is exactly what went on the wire. One channel per address, as
// Mixer keeps one connection per handler.
import * as grpc from '@grpc/grpc-js';
import type { Dial } from './dial.js';

export interface RawResult {
  code: number;
  details: string;
  /** Response bytes; only when code is OK. */
  response: Buffer | undefined;
}

const identity = (b: Buffer): Buffer => b;

export class ClientPool {
  private readonly clients = new Map<string, grpc.Client>();

  /** `how`: credentials for every connection; plaintext when absent. */
  constructor(private readonly how?: Dial) {}

  private client(address: string): grpc.Client {
    let c = this.clients.get(address);
    if (!c) {
      c = new grpc.Client(
        address,
        this.how?.credentials ?? grpc.credentials.createInsecure(),
        this.how?.channelOptions ?? {},
      );
      this.clients.set(address, c);
    }
    return c;
  }

  /** One call; never rejects: failures come back as a non-OK code. */
  call(address: string, method: string, request: Buffer, timeoutMs: number | undefined): Promise<RawResult> {
    const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    return new Promise((resolve) => {
      this.client(address).makeUnaryRequest(
        method,
        identity,
        identity,
        request,
        new grpc.Metadata(),
        options,
        (err: grpc.ServiceError | null, response?: Buffer) => {
          if (err) resolve({ code: err.code, details: err.details, response: undefined });
          else resolve({ code: grpc.status.OK, details: '', response: response ?? Buffer.alloc(0) });
        },
      );
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

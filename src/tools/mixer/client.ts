// Raw unary calls to a handler: bytes in, bytes out, so what is sent and
// recorded is exactly what went on the wire. One channel per address, as
// Mixer keeps one connection per handler.
import * as grpc from '@grpc/grpc-js';
import { dial, type Dial, type DialSettings } from '../../transport/dial.js';

export interface RawStreamResult {
  code: number;
  details: string;
  /** Every message the server sent back. */
  responses: Buffer[];
}

export interface RawResult {
  code: number;
  details: string;
  /** Response bytes; only when code is OK. */
  response: Buffer | undefined;
}

const identity = (b: Buffer): Buffer => b;

export class ClientPool {
  private readonly clients = new Map<string, Promise<grpc.Client>>();

  /** `override`: how every connection is dialled, whatever the handler says (the command-line flags). */
  constructor(private readonly override?: Dial) {}

  /** One channel per address and way of dialling; the files are read once, when it is opened. */
  private client(address: string, how: DialSettings | undefined): Promise<grpc.Client> {
    const key = JSON.stringify([address, this.override ? null : (how ?? null)]);
    let c = this.clients.get(key);
    if (!c) {
      c = (async () => {
        const d = this.override ?? (how ? await dial(how) : undefined);
        return new grpc.Client(address, d?.credentials ?? grpc.credentials.createInsecure(), d?.channelOptions ?? {});
      })();
      this.clients.set(key, c);
    }
    return c;
  }

  /**
   * One call; never rejects: failures come back as a non-OK code (a dial
   * setting that cannot be used as UNAVAILABLE with the reason).
   */
  async call(
    address: string,
    method: string,
    request: Buffer,
    timeoutMs: number | undefined,
    how?: DialSettings,
  ): Promise<RawResult> {
    const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    let client: grpc.Client;
    try {
      client = await this.client(address, how);
    } catch (err) {
      return { code: grpc.status.UNAVAILABLE, details: (err as Error).message, response: undefined };
    }
    return new Promise((resolve) => {
      client.makeUnaryRequest(
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

  /**
   * A client stream: `requests` written in order, then the half-close; resolves
   * with the final status. Opened as a bidi call, which sends the same frames
   * but lets the server answer with no message (Envoy's access-log service
   * need not reply, and grpc-js's client-stream call fails such an OK).
   */
  async stream(
    address: string,
    method: string,
    requests: readonly Buffer[],
    timeoutMs: number,
  ): Promise<RawStreamResult> {
    let client: grpc.Client;
    try {
      client = await this.client(address, undefined);
    } catch (err) {
      return { code: grpc.status.UNAVAILABLE, details: (err as Error).message, responses: [] };
    }
    return new Promise((resolve) => {
      const responses: Buffer[] = [];
      const call = client.makeBidiStreamRequest(method, identity, identity, new grpc.Metadata(), {
        deadline: Date.now() + timeoutMs,
      });
      call.on('data', (b: Buffer) => responses.push(b));
      // A failed call emits 'error' and 'status'; the status is the answer.
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details, responses }));
      for (const r of requests) call.write(r);
      call.end();
    });
  }

  close(): void {
    for (const c of this.clients.values()) void c.then((client) => client.close()).catch(() => undefined);
    this.clients.clear();
  }
}

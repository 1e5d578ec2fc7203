// A minimal HTTP/2 client over one socket, for what Node's own client
// refuses to send: the same single-value header twice (RFC 9113 leaves that
// to the receiver). Requests are encoded by hand (HPACK literals, no
// Huffman); responses are decoded with hpack.js.
import type { Duplex } from 'node:stream';
import hpack from 'hpack.js';
import { grpcMessage } from './wire.js';

const FRAME = { DATA: 0, HEADERS: 1, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  for (value -= max; value >= 128; value >>>= 7) out.push((value & 0x7f) | 0x80);
  out.push(value);
  return Buffer.from(out);
}

/** Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v]);
}

export interface RawAnswer {
  /** Every response header and trailer, in order. */
  headers: [string, string][];
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
}

/**
 * One gRPC unary call with `headers` sent exactly as listed (repeats kept),
 * on a socket that already speaks HTTP/2 (e.g. TLS with ALPN h2).
 */
export function rawGrpcCall(
  socket: Duplex,
  path: string,
  authority: string,
  headers: [string, string][],
  message: Buffer,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const block = Buffer.concat(
    [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':path', path],
      [':authority', authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...headers,
    ].map(([n, v]) => literal(n!, v!)),
  );
  const body = grpcMessage(message);
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));
  socket.write(frame(FRAME.HEADERS, END_HEADERS, 1, block));
  socket.write(frame(FRAME.DATA, END_STREAM, 1, body));

  const decoder = hpack.decompressor.create({ table: { size: 4096 } });
  const answer: RawAnswer = { headers: [], grpcStatus: undefined, grpcMessage: undefined };
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no answer in time')), timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      if (err) reject(err);
      else resolve(answer);
    };
    socket.on('error', (err: Error) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before the answer')));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) return;
        const [type, flags, stream] = [buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff];
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        if (type === FRAME.HEADERS && stream === 1) {
          decoder.write(payload);
          decoder.execute();
          for (let h = decoder.read(); h; h = decoder.read()) answer.headers.push([h.name, h.value]);
          if (flags & END_STREAM) {
            const get = (name: string) => answer.headers.find(([n]) => n === name)?.[1];
            const status = get('grpc-status');
            answer.grpcStatus = status === undefined ? undefined : Number(status);
            const msg = get('grpc-message');
            answer.grpcMessage = msg === undefined ? undefined : decodeURIComponent(msg);
            return finish();
          }
        } else if (type === FRAME.GOAWAY) {
          return finish(new Error('GOAWAY before the answer'));
        }
      }
    });
  });
}

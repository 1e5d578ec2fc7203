// The ceiling: a grpc-js server on the adapter's two method paths that decodes
// nothing and answers every call with the same fixed bytes. What the bench
// measures against it is the cost of grpc-js and HTTP/2 alone.
//
//   node dist/bench/test/bench/noop-server.js [port] [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { AUTHORIZATION_METHOD_PATH, METRIC_METHOD_PATH } from '../../src/wire/load.js';

// ReportResult has no fields: zero bytes.
const REPORT_RESULT = Buffer.alloc(0);
// CheckResult{status: {}}: field 1 (status), length-delimited, empty = code OK.
const CHECK_RESULT = Buffer.from([0x0a, 0x00]);

const identity = (b: Buffer): Buffer => b;

function fixedAnswer(reply: Buffer): grpc.handleUnaryCall<Buffer, Buffer> {
  return (_call, callback) => callback(null, reply);
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { host: { type: 'string', default: '127.0.0.1' } },
    allowPositionals: true,
  });
  const port = Number(positionals[0] ?? '0');
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.register(METRIC_METHOD_PATH, fixedAnswer(REPORT_RESULT), identity, identity, 'unary');
  server.register(AUTHORIZATION_METHOD_PATH, fixedAnswer(CHECK_RESULT), identity, identity, 'unary');
  const host = values.host;
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      process.stderr.write(`noop-server: cannot bind ${target}: ${err.message}\n`);
      process.exit(1);
    }
    const address = host.includes(':') ? `[${host}]:${bound}` : `${host}:${bound}`;
    const stop = (): void => {
      setTimeout(() => server.forceShutdown(), 2_000).unref();
      server.tryShutdown(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.stderr.write(`listening on "${address}"\n`);
  });
}

main();

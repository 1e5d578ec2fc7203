// A stream may not stay open for ever (issue 12, point 2): a request that
// never finishes arriving, and an answer its client never reads, are reset
// after their limits (tightened here to keep the test short), while normal
// calls on other connections go on.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceDefinitions } from '../src/wire/load.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { paramsAny } from './helpers/clients.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';
import { grpcMessage, rawGrpcStream } from './helpers/wire.js';

let t: TestAdapter;

beforeAll(async () => {
  t = await startTestAdapter({ logLevel: 'warn', streams: { requestArrivalMs: 500, maxStreamMs: 2000 } });
});

afterAll(() => t.stop());

function rawSession(settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${t.adapter.port}`, { settings });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

function closedWith(stream: http2.ClientHttp2Stream): Promise<number | undefined> {
  return new Promise((resolve) => stream.once('close', () => resolve(stream.rstCode)));
}

const served = () =>
  t.clients.metric({ instances: [{ name: 'ok', value: int(1) }], adapter_config: paramsAny({ sink: 'stdout' }) });

describe('stream deadlines', () => {
  it('resets a request that never finishes arriving', async () => {
    const session = await rawSession();
    const stream = rawGrpcStream(session);
    const closed = closedWith(stream);
    stream.write(Buffer.from([0, 0, 0, 1, 0, 1, 2, 3])); // announces 256 bytes, sends 3
    await served();
    expect(await closed).toBe(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => t.logs().includes('connection or stream cut by a bound: request-arrival'));
    session.destroy();
  });

  it('resets a stream whose answer is never read', async () => {
    const session = await rawSession({ initialWindowSize: 0 });
    const body = serviceDefinitions().metric.HandleMetric.requestSerialize({
      instances: [{ name: 'unread', value: int(1) }],
      adapter_config: paramsAny({ sink: 'stdout' }),
    });
    const stream = rawGrpcStream(session);
    const closed = closedWith(stream);
    stream.end(grpcMessage(body));
    await served();
    expect(await closed).toBe(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => t.logs().includes('connection or stream cut by a bound: stream-age'));
    session.destroy();
  });
});

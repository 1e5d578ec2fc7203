// The Deployment relies on grpc-js to jitter --max-connection-age (±10 % per
// connection), so that replicas, and connections opened together, do not get
// GOAWAY in lock-step and re-dial all at once. Several connections opened at
// the same moment must be ended at visibly different ages.
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, startAdapter, type RunningAdapter } from '../src/main.js';

const AGE_MS = 3000;
const CONNECTIONS = 8;

let adapter: RunningAdapter | undefined;
const sessions: http2.ClientHttp2Session[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) s.destroy();
  await adapter?.stop();
  adapter = undefined;
});

describe('--max-connection-age jitter', () => {
  it('connections opened together are sent GOAWAY at different ages', async () => {
    adapter = await startAdapter({
      ...DEFAULT_OPTIONS,
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      shutdownGraceMs: 100,
      maxConnectionAgeMs: AGE_MS,
    });
    const port = adapter.port;
    const ages = await Promise.all(
      Array.from(
        { length: CONNECTIONS },
        () =>
          new Promise<number>((resolve, reject) => {
            // A bare HTTP/2 connection, as a gRPC channel opens one.
            const session = http2.connect(`http://127.0.0.1:${port}`);
            sessions.push(session);
            let openedAt = 0;
            session.once('connect', () => (openedAt = performance.now()));
            session.once('goaway', () => resolve(performance.now() - openedAt));
            session.once('error', reject);
            setTimeout(() => reject(new Error('no GOAWAY')), AGE_MS * 3).unref();
          }),
      ),
    );
    for (const age of ages) {
      expect(age).toBeGreaterThan(AGE_MS * 0.85);
    }
    // Without jitter all would end within a few ms of each other; ±10 % of
    // 3 s spreads 8 connections over hundreds of ms.
    expect(Math.max(...ages) - Math.min(...ages), `ages: ${ages.map(Math.round).join(', ')}`).toBeGreaterThan(50);
  }, 20_000);
});

// --max-connection-age reaches the grpc-js server: the server ends an aged
// connection (GOAWAY), so a client's channel leaves READY on its own.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { adapterOptionsFromArgv } from '../src/commands/serve.js';
import { DEFAULT_OPTIONS, startAdapter, type RunningAdapter } from '../src/main.js';

const started: RunningAdapter[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((a) => a.stop()));
});

async function adapter(maxConnectionAgeMs: number): Promise<RunningAdapter> {
  const a = await startAdapter({
    ...DEFAULT_OPTIONS,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    shutdownGraceMs: 100,
    maxConnectionAgeMs,
  });
  started.push(a);
  return a;
}

/** Connects, then reports whether the channel left READY within `withinMs`. */
async function leavesReady(port: number, withinMs: number): Promise<boolean> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())),
    );
    const channel = client.getChannel();
    expect(channel.getConnectivityState(false)).toBe(grpc.connectivityState.READY);
    return await new Promise<boolean>((resolve) =>
      channel.watchConnectivityState(grpc.connectivityState.READY, Date.now() + withinMs, (err) => resolve(!err)),
    );
  } finally {
    client.close();
  }
}

describe('--max-connection-age', () => {
  it('is passed from the CLI arguments to the adapter options', async () => {
    expect((await adapterOptionsFromArgv(['0', '--max-connection-age', '60000'])).maxConnectionAgeMs).toBe(60_000);
    await expect(adapterOptionsFromArgv(['0', '--max-connection-age', '-1'])).rejects.toThrow(/max-connection-age/);
  });

  it('makes the server end a connection once it is older than the limit', async () => {
    const a = await adapter(300);
    expect(await leavesReady(a.port, 3000)).toBe(true);
  });

  it('leaves connections alone when 0 (the default)', async () => {
    expect(DEFAULT_OPTIONS.maxConnectionAgeMs).toBe(0);
    const a = await adapter(0);
    expect(await leavesReady(a.port, 1000)).toBe(false);
  });
});

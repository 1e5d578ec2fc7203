// Starts the real adapter in-process on 127.0.0.1:0 with its stdout captured.
import { PassThrough } from 'node:stream';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions, type RunningAdapter } from '../../src/main.js';
import type { SinkFactory } from '../../src/sinks/registry.js';
import { connect, type Clients } from './clients.js';

export interface TestAdapter {
  adapter: RunningAdapter;
  clients: Clients;
  /** Everything the stdout sink wrote so far. */
  stdout(): string;
  /** Everything logged so far (JSON lines). */
  logs(): string;
  stop(): Promise<void>;
}

export async function startTestAdapter(
  options: Partial<AdapterOptions> = {},
  extraSinks: Record<string, SinkFactory> = {},
): Promise<TestAdapter> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const adapter = await startAdapter(
    // decodeWorkers 0: in-process adapters decode on the main thread unless a
    // test asks for workers (the flag's default depends on the machine's cores).
    { ...DEFAULT_OPTIONS, host: '127.0.0.1', port: 0, logLevel: 'debug', decodeWorkers: 0, ...options },
    { stdout, stderr, extraSinks },
  );
  const clients = connect(`127.0.0.1:${adapter.port}`);
  return {
    adapter,
    clients,
    stdout: () => out,
    logs: () => err,
    stop: async () => {
      clients.close();
      await adapter.stop();
    },
  };
}

/** The real adapter with silent logs and discarded stdout, for tests that only need its address. */
export async function startQuietAdapter(dataDir: string, extra: Partial<AdapterOptions> = {}): Promise<RunningAdapter> {
  return startAdapter(
    { ...DEFAULT_OPTIONS, host: '127.0.0.1', port: 0, logLevel: 'silent', dataDir, decodeWorkers: 0, ...extra },
    { stdout: new PassThrough(), stderr: new PassThrough() },
  );
}

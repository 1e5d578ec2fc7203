// The real adapter, in-process on 127.0.0.1 with a free port.
import { PassThrough } from 'node:stream';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions, type RunningAdapter } from '../../src/main.js';

export async function startTestAdapter(dataDir: string, extra: Partial<AdapterOptions> = {}): Promise<RunningAdapter> {
  return startAdapter(
    { ...DEFAULT_OPTIONS, host: '127.0.0.1', port: 0, logLevel: 'silent', dataDir, ...extra },
    { stdout: new PassThrough(), stderr: new PassThrough() },
  );
}

// Composition root: options -> logger -> sinks -> handlers -> server.
import type { Writable } from 'node:stream';
import type { LevelWithSilent } from 'pino';
import type { FormatName } from './decode/params.js';
import { createLogger, type Logger } from './log.js';
import { bind, createAdapterServer, shutdown } from './server/adapter-server.js';
import { HandlerTable } from './server/handler-table.js';
import { DEFAULT_SECURITY, openSecurity, type SecurityOptions } from './server/security.js';
import { SinkPool } from './sinks/registry.js';

export interface AdapterOptions {
  host: string;
  port: number;
  logLevel: LevelWithSilent;
  /** Record format when a handler's Params leave `format` empty. */
  format: FormatName;
  /** Folder that relative file_path values resolve against and that no file_path may leave. */
  dataDir: string;
  maxMessageBytes: number;
  /** Distinct handler configurations kept decoded. */
  handlerCacheSize: number;
  /** How long shutdown waits for in-flight calls before cancelling them. */
  shutdownGraceMs: number;
  /** TLS, mutual TLS, client SAN allow-list, token; see docs/security.md. */
  security: SecurityOptions;
}

export const DEFAULT_OPTIONS: AdapterOptions = {
  host: '::',
  port: 8000,
  logLevel: 'info',
  format: 'text',
  dataDir: process.cwd(),
  maxMessageBytes: 16 * 1024 * 1024,
  handlerCacheSize: 256,
  shutdownGraceMs: 10_000,
  security: DEFAULT_SECURITY,
};

export interface RunningAdapter {
  /** host:port actually bound, e.g. "[::]:8000" or "127.0.0.1:43121". */
  address: string;
  port: number;
  log: Logger;
  /** Stop accepting, finish in-flight calls, flush and close sinks. Idempotent. */
  stop(): Promise<void>;
}

export interface AdapterIo {
  stdout: Writable;
  stderr: NodeJS.WritableStream;
}

export async function startAdapter(
  options: AdapterOptions,
  io: AdapterIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<RunningAdapter> {
  const log = createLogger(options.logLevel, io.stderr);
  // First, so a bad certificate or token file stops the start before anything opens.
  const security = openSecurity(options.security, log);
  const sinks = new SinkPool({ stdout: io.stdout }, undefined, (err) => log.error({ err }, 'closing a sink failed'));
  const handlers = new HandlerTable(sinks, {
    defaultFormat: options.format,
    baseDir: options.dataDir,
    maxEntries: options.handlerCacheSize,
  });
  const server = createAdapterServer(
    { handlers, log, now: () => new Date() },
    { maxReceiveMessageBytes: options.maxMessageBytes },
    security.interceptors,
  );
  let port: number;
  try {
    port = await bind(server, options.host, options.port, security.credentials);
  } catch (err) {
    security.close();
    throw err;
  }
  const address = options.host.includes(':') ? `[${options.host}]:${port}` : `${options.host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await shutdown(server, options.shutdownGraceMs);
      security.close();
      handlers.clear();
      await sinks.closeAll();
    })());
  return { address, port, log, stop };
}

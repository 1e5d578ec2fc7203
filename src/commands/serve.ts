// `mygrpcadapter [port]`: run the adapter until SIGINT/SIGTERM.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { FORMATS, type FormatName } from '../decode/params.js';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions } from '../main.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface ServeArgs {
  port: number;
  host: string;
  'log-level': (typeof LEVELS)[number];
  format: FormatName;
  'data-dir': string;
  'max-message-bytes': number;
  'handler-cache-size': number;
  'shutdown-grace': number;
  record: string | undefined;
}

export function serveOptions<T>(y: Argv<T>): Argv<T & ServeArgs> {
  return y
    .positional('port', {
      type: 'number',
      default: DEFAULT_OPTIONS.port,
      describe: 'TCP port to listen on; 0 picks a free one',
    })
    .option('host', { type: 'string', default: DEFAULT_OPTIONS.host, describe: 'address to bind ("::" = all)' })
    .option('log-level', { choices: LEVELS, default: DEFAULT_OPTIONS.logLevel })
    .option('format', {
      choices: FORMATS,
      default: DEFAULT_OPTIONS.format,
      describe: 'record format for handlers whose Params leave `format` empty',
    })
    .option('data-dir', {
      type: 'string',
      default: '.',
      describe: 'folder that relative file_path values resolve against',
    })
    .option('max-message-bytes', {
      type: 'number',
      default: DEFAULT_OPTIONS.maxMessageBytes,
      describe: 'largest request accepted',
    })
    .option('handler-cache-size', {
      type: 'number',
      default: DEFAULT_OPTIONS.handlerCacheSize,
      describe: 'distinct handler configurations kept decoded',
    })
    .option('shutdown-grace', {
      type: 'number',
      default: DEFAULT_OPTIONS.shutdownGraceMs,
      describe: 'milliseconds in-flight calls get to finish on shutdown',
    })
    .option('record', {
      type: 'string',
      describe: 'append every received call (raw request, decoded view, answer) to this JSON-lines file',
    });
}

export function toAdapterOptions(args: ServeArgs): AdapterOptions {
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error(`port: expected an integer 0..65535, got ${args.port}`);
  }
  return {
    host: args.host,
    port: args.port,
    logLevel: args['log-level'],
    format: args.format,
    dataDir: path.resolve(args['data-dir']),
    maxMessageBytes: args['max-message-bytes'],
    handlerCacheSize: args['handler-cache-size'],
    shutdownGraceMs: args['shutdown-grace'],
    ...(args.record ? { record: path.resolve(args.record) } : {}),
  };
}

export async function serve(args: ServeArgs): Promise<void> {
  const adapter = await startAdapter(toAdapterOptions(args));
  // The walkthrough's start-up line, with the address really bound; on
  // stderr because stdout carries records.
  process.stderr.write(`listening on "${adapter.address}"\n`);
  adapter.log.info({ address: adapter.address }, 'adapter started');
  const onSignal = (signal: NodeJS.Signals): void => {
    adapter.log.info({ signal }, 'shutting down');
    adapter.stop().then(
      () => {
        adapter.log.info('stopped');
        process.exitCode = 0;
      },
      (err: unknown) => {
        adapter.log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: '$0 [port]',
  describe: 'serve HandleMetric and HandleAuthorization (Mixer dials this)',
  builder: (y) => serveOptions(y),
  handler: serve,
};

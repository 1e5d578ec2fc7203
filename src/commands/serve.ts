// `mygrpcadapter [port]`: run the adapter until SIGINT/SIGTERM.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { FORMATS, type FormatName } from '../decode/params.js';
import { DEFAULT_OPTIONS, startAdapter, type AdapterOptions } from '../main.js';
import type { TlsOptions } from '../server/tls.js';

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
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
  'tls-client-ca'?: string | undefined;
  'require-client-cert': boolean;
  'allowed-client-san': string[];
  'token-file'?: string | undefined;
  'token-header': string;
  'reload-interval': number;
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
      describe: 'folder that file_path values resolve against and may not leave',
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
    .option('tls-cert', { type: 'string', describe: 'serve TLS with this PEM certificate chain (leaf first)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-client-ca', {
      type: 'string',
      describe: 'PEM CA bundle client certificates are verified against (mutual TLS)',
    })
    .option('require-client-cert', {
      type: 'boolean',
      default: false,
      describe: 'refuse clients without a certificate from --tls-client-ca',
    })
    .option('allowed-client-san', {
      type: 'string',
      array: true,
      // One value per flag, so `--allowed-client-san X 8000` leaves the port alone.
      nargs: 1,
      default: [] as string[],
      describe: 'URI SAN (SPIFFE ID) a client certificate must carry; repeatable, any one suffices',
    })
    .option('token-file', { type: 'string', describe: 'every call must present the token in this file' })
    .option('token-header', {
      type: 'string',
      default: DEFAULT_OPTIONS.security.tokenHeader,
      describe: 'header carrying the token (authorization: "Bearer <token>" or "<token>")',
    })
    .option('reload-interval', {
      type: 'number',
      default: DEFAULT_OPTIONS.security.reloadIntervalMs,
      describe: 'milliseconds between re-reads of certificate and token files',
    });
}

function tlsOptions(args: ServeArgs): TlsOptions | undefined {
  const cert = args['tls-cert'];
  const key = args['tls-key'];
  if (cert === undefined && key === undefined) {
    for (const flag of ['tls-client-ca', 'require-client-cert'] as const) {
      if (args[flag]) throw new Error(`--${flag} needs --tls-cert and --tls-key`);
    }
    return undefined;
  }
  if (cert === undefined || key === undefined) throw new Error('--tls-cert and --tls-key go together');
  const ca = args['tls-client-ca'];
  return {
    certFile: path.resolve(cert),
    keyFile: path.resolve(key),
    clientCaFile: ca === undefined ? undefined : path.resolve(ca),
    requireClientCert: args['require-client-cert'],
  };
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
    security: {
      tls: tlsOptions(args),
      allowedClientSans: args['allowed-client-san'],
      tokenFile: args['token-file'] === undefined ? undefined : path.resolve(args['token-file']),
      tokenHeader: args['token-header'].toLowerCase(),
      reloadIntervalMs: args['reload-interval'],
    },
  };
}

export async function serve(args: ServeArgs): Promise<void> {
  const adapter = await startAdapter(toAdapterOptions(args));
  // Handlers go in before the listening line: whoever waits for that line may signal at once.
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
  // The walkthrough's start-up line, with the address really bound; on
  // stderr because stdout carries records.
  process.stderr.write(`listening on "${adapter.address}"\n`);
  adapter.log.info({ address: adapter.address }, 'adapter started');
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: '$0 [port]',
  describe: 'serve HandleMetric and HandleAuthorization (Mixer dials this)',
  builder: (y) => serveOptions(y),
  handler: serve,
};

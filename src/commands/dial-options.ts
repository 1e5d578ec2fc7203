// The flags that say how health, mixer and replay dial the adapter: the
// fields of Mixer's `connection.authentication`, under the same names.
import type { Argv } from 'yargs';
import type { DialSettings } from '../transport/dial.js';

export interface DialArgs {
  tls: boolean;
  'ca-certificates': string | undefined;
  'server-name': string | undefined;
  'client-certificate': string | undefined;
  'private-key': string | undefined;
  'token-path': string | undefined;
  'auth-header': 'PLAIN' | 'BEARER' | undefined;
  'custom-header': string | undefined;
}

export function withDialOptions<T>(y: Argv<T>): Argv<T & DialArgs> {
  return y
    .option('tls', { type: 'boolean', default: false, describe: 'dial with TLS (implied by the options below)' })
    .option('ca-certificates', {
      type: 'string',
      describe: "CA file the adapter's certificate must chain to (added to the system CAs; tls/mutual.ca_certificates)",
    })
    .option('server-name', {
      type: 'string',
      describe: 'name for SNI and, with tls, host-name verification (server_name)',
    })
    .option('client-certificate', {
      type: 'string',
      describe: 'mutual TLS: client certificate file (mutual.client_certificate)',
    })
    .option('private-key', { type: 'string', describe: 'mutual TLS: client key file (mutual.private_key)' })
    .option('token-path', {
      type: 'string',
      describe: 'tls: file whose bytes are the token, sent untrimmed (tls.token_path)',
    })
    .option('auth-header', {
      choices: ['PLAIN', 'BEARER'] as const,
      describe:
        'send the token as "authorization: <token>" (PLAIN) or "authorization: Bearer <token>" (tls.auth_header)',
    })
    .option('custom-header', { type: 'string', describe: 'send the token in this header instead (tls.custom_header)' });
}

export function dialSettings(args: DialArgs): DialSettings {
  return {
    tls: args.tls,
    caCertificates: args['ca-certificates'],
    serverName: args['server-name'],
    clientCertificate: args['client-certificate'],
    privateKey: args['private-key'],
    tokenPath: args['token-path'],
    authHeader: args['auth-header'],
    customHeader: args['custom-header'],
  };
}

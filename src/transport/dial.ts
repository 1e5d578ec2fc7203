// How the project's clients (stand-in, health, replay) dial the adapter:
// plaintext, TLS with a token, or mutual TLS, with the settings of Mixer's
// `connection.authentication` (contract §4) and Mixer's checks:
// * tls: the adapter is verified against the system CAs plus ca_certificates,
//   under server_name; the token file's bytes go, untrimmed, in
//   `authorization: <token>` (PLAIN), `authorization: Bearer <token>` (BEARER)
//   or a custom header;
// * mutual: the client certificate is presented; instead of a host-name check,
//   the adapter's certificate must carry one of the URI SANs of the client's own
//   certificate (skipped, as in Mixer, with BYPASS_OOP_MTLS_SAN_VERIFICATION=true);
//   server_name is only the SNI.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { checkServerIdentity as hostNameCheck, rootCertificates, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { uriSans } from '../security/san.js';

export interface DialSettings {
  /** TLS with the system CAs even when no other TLS setting is given. */
  tls: boolean;
  caCertificates: string | undefined;
  serverName: string | undefined;
  clientCertificate: string | undefined;
  privateKey: string | undefined;
  tokenPath: string | undefined;
  /** PLAIN or BEARER: the token goes in `authorization`. */
  authHeader: 'PLAIN' | 'BEARER' | undefined;
  /** The header that carries the bare token. */
  customHeader: string | undefined;
}

export const PLAINTEXT: DialSettings = {
  tls: false,
  caCertificates: undefined,
  serverName: undefined,
  clientCertificate: undefined,
  privateKey: undefined,
  tokenPath: undefined,
  authHeader: undefined,
  customHeader: undefined,
};

export interface Dial {
  credentials: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
  /** For messages: plaintext, tls, tls+token or mutual. */
  mode: string;
}

export class DialError extends Error {}

async function read(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new DialError(`${what} ${file}: ${(err as Error).message}`);
  }
}

/** The token file's bytes as Mixer sends them; refused when no HTTP/2 header can carry them. */
async function tokenValue(file: string): Promise<string> {
  const bytes = await read(file, '--token-path');
  if (bytes.length === 0) throw new DialError(`--token-path ${file}: the file is empty`);
  // Mixer sends the file unchanged; a line break (e.g. `echo tok > file`) cannot travel in a header.
  if (bytes.some((b) => b === 0x0a || b === 0x0d)) {
    throw new DialError(
      `--token-path ${file}: the token holds a line break (often a trailing newline): Mixer would send it unchanged and the adapter never receives it; write the file with printf '%s'`,
    );
  }
  if (bytes.some((b) => b < 0x20 || b === 0x7f))
    throw new DialError(`--token-path ${file}: the token holds control characters`);
  return bytes.toString('latin1');
}

function tokenCredentials(header: string, value: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set(header, value);
    callback(null, metadata);
  });
}

/** Credentials and channel options for `settings`; throws DialError for a combination Mixer refuses. */
export async function dial(settings: DialSettings): Promise<Dial> {
  const mutual = settings.clientCertificate !== undefined || settings.privateKey !== undefined;
  const token = settings.tokenPath !== undefined;
  const useTls = settings.tls || mutual || token || settings.caCertificates !== undefined;
  if (!useTls) {
    if (settings.serverName !== undefined) throw new DialError('--server-name needs TLS (--tls or --ca-certificates)');
    return { credentials: grpc.credentials.createInsecure(), channelOptions: {}, mode: 'plaintext' };
  }
  if (mutual && (settings.clientCertificate === undefined || settings.privateKey === undefined))
    throw new DialError('mutual TLS needs both --client-certificate and --private-key');
  if (mutual && token) throw new DialError('a token (--token-path) goes with tls, not with mutual TLS, as in Mixer');
  const headerGiven = settings.authHeader !== undefined || settings.customHeader !== undefined;
  if (token && !headerGiven)
    throw new DialError(
      '--token-path needs --auth-header PLAIN|BEARER or --custom-header NAME (Mixer fails the handler otherwise)',
    );
  if (!token && headerGiven) throw new DialError('--auth-header/--custom-header need --token-path');
  if (settings.authHeader !== undefined && settings.customHeader !== undefined)
    throw new DialError('give --auth-header or --custom-header, not both');

  // Mixer adds ca_certificates to the system pool.
  const extraCa = settings.caCertificates ? await read(settings.caCertificates, '--ca-certificates') : undefined;
  const roots = Buffer.from([...rootCertificates, ...(extraCa ? [extraCa.toString('utf8')] : [])].join('\n'));
  const cert = mutual ? await read(settings.clientCertificate as string, '--client-certificate') : undefined;
  const key = mutual ? await read(settings.privateKey as string, '--private-key') : undefined;
  let ownSans: string[] | undefined;
  if (cert) {
    try {
      ownSans = uriSans(new X509Certificate(cert).subjectAltName);
    } catch (err) {
      throw new DialError(`--client-certificate ${String(settings.clientCertificate)}: ${(err as Error).message}`);
    }
  }
  const bypassSan = process.env.BYPASS_OOP_MTLS_SAN_VERIFICATION === 'true';
  const checkServerIdentity = (host: string, peer: PeerCertificate): Error | undefined => {
    if (!ownSans || bypassSan) return hostNameCheck(host, peer);
    const theirs = uriSans(peer.subjectaltname);
    if (ownSans.some((san) => theirs.includes(san))) return undefined;
    return new Error(
      `the adapter's certificate URI SANs [${theirs.join(', ')}] match none of the client certificate's [${ownSans.join(', ')}]`,
    );
  };
  const channel = grpc.credentials.createSsl(roots, key ?? null, cert ?? null, { checkServerIdentity });
  const channelOptions: grpc.ChannelOptions = {};
  if (settings.serverName !== undefined) channelOptions['grpc.ssl_target_name_override'] = settings.serverName;
  if (!token) return { credentials: channel, channelOptions, mode: mutual ? 'mutual' : 'tls' };

  const value = await tokenValue(settings.tokenPath as string);
  const header = settings.customHeader ?? 'authorization';
  const sent = settings.authHeader === 'BEARER' ? `Bearer ${value}` : value;
  return {
    credentials: grpc.credentials.combineChannelCredentials(channel, tokenCredentials(header.toLowerCase(), sent)),
    channelOptions,
    mode: 'tls+token',
  };
}

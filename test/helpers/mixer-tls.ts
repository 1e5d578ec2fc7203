// Client credentials that dial the adapter the way Mixer does for a
// handler's `connection.authentication` (mixer-contract §4).
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity as hostNameCheck, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { uriSans } from '../../src/security/san.js';
import { connect, type Clients } from './clients.js';
import { int } from './values.js';

export interface MixerTlsOptions {
  /** ca_certificates */
  ca: Buffer;
  /** mutual.client_certificate and mutual.private_key; absent: `tls` mode */
  clientCert?: { cert: Buffer; key: Buffer };
  /** token_path contents and where they go (auth_header or custom_header) */
  token?: { header: string; value: string };
  /** Mixer's BYPASS_OOP_MTLS_SAN_VERIFICATION=true: host-name check instead of the SAN match. */
  bypassSanCheck?: boolean;
  /** Sees the adapter's leaf certificate on each new connection. */
  onServerCert?: (cert: PeerCertificate) => void;
}

/**
 * With a client certificate: Mixer's `mutual` check, which replaces host-name
 * verification: the adapter's leaf must carry one of the URI SANs of Mixer's
 * own certificate (its SPIFFE identity). Without: the usual host-name check.
 */
export function mixerCredentials(options: MixerTlsOptions): grpc.ChannelCredentials {
  const own = options.clientCert ? uriSans(new X509Certificate(options.clientCert.cert).subjectAltName) : undefined;
  const checkServerIdentity = (host: string, cert: PeerCertificate): Error | undefined => {
    options.onServerCert?.(cert);
    if (!own || options.bypassSanCheck) return hostNameCheck(host, cert);
    const theirs = uriSans(cert.subjectaltname);
    if (own.some((san) => theirs.includes(san))) return undefined;
    return new Error(`adapter certificate URI SANs [${theirs.join(', ')}] match none of ours [${own.join(', ')}]`);
  };
  const channel = grpc.credentials.createSsl(options.ca, options.clientCert?.key, options.clientCert?.cert, {
    checkServerIdentity,
  });
  const token = options.token;
  if (!token) return channel;
  const perCall = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set(token.header, token.value);
    callback(null, metadata);
  });
  return grpc.credentials.combineChannelCredentials(channel, perCall);
}

/** Clients on loopback with Mixer-style TLS; SNI carries a name, since RFC 6066 allows no IP there. */
export function connectAsMixer(port: number, options: MixerTlsOptions): Clients {
  return connect(`127.0.0.1:${port}`, mixerCredentials(options), { 'grpc.ssl_target_name_override': 'localhost' });
}

/** One small report: enough to see whether a call gets through. */
export function report(clients: Clients): Promise<unknown> {
  return clients.metric({ instances: [{ name: 'm', value: int(1) }] });
}

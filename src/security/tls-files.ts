// Reads and checks certificate material, so a bad file is reported with its
// reason (at start-up: fatal; on reload: logged, previous files kept) instead
// of grpc-js silently dropping every connection.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { uriSans } from './san.js';

/** What may be logged about a certificate: nothing secret. */
export interface CertificateSummary {
  serial: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  uriSans: string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function pemCertificates(pem: Buffer, what: string): X509Certificate[] {
  const blocks = pem.toString('latin1').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new Error(`${what}: no PEM certificate found`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`${what}: certificate ${i + 1} does not parse (${(err as Error).message})`);
    }
  });
}

export function summarize(cert: X509Certificate): CertificateSummary {
  return {
    serial: cert.serialNumber,
    subject: cert.subject.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    uriSans: uriSans(cert.subjectAltName),
  };
}

/**
 * Checks that `certificate` (leaf first, then intermediates) parses and that
 * `privateKey` belongs to its leaf. Error messages never quote the key.
 */
export function checkIdentity(certificate: Buffer, privateKey: Buffer): CertificateSummary {
  const leaf = pemCertificates(certificate, 'certificate')[0]!;
  let key;
  try {
    key = createPrivateKey(privateKey);
  } catch (err) {
    throw new Error(`private key does not parse (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) throw new Error('private key does not belong to the certificate');
  // The context the TLS stack will build from it (grpc-js's options): OpenSSL
  // refuses, e.g., a key below its security level ("ee key too small").
  try {
    tls.createSecureContext({ cert: certificate, key: privateKey, ciphers: process.env.GRPC_SSL_CIPHER_SUITES });
  } catch (err) {
    throw new Error(`the TLS stack refuses it (${(err as Error).message})`);
  }
  return summarize(leaf);
}

const HANDSHAKE_TIMEOUT_MS = 5_000;

/**
 * Completes one TLS handshake over loopback with this identity, as an
 * HTTP/2 client that checks only the handshake itself. An identity OpenSSL
 * loads can still fail every handshake: an MD5-signed certificate leaves no
 * signature algorithm a client accepts. Resolves when the handshake
 * succeeded; rejects with the reason.
 */
export async function checkHandshake(certificate: Buffer, privateKey: Buffer): Promise<void> {
  const server = tls.createServer({
    cert: certificate,
    key: privateKey,
    ciphers: process.env.GRPC_SSL_CIPHER_SUITES,
    ALPNProtocols: ['h2'],
  });
  let serverError: Error | undefined;
  server.on('tlsClientError', (err) => (serverError = err));
  server.on('secureConnection', (socket) => socket.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        ALPNProtocols: ['h2'],
        rejectUnauthorized: false, // trust is the client's business; this checks that a handshake completes
      });
      socket.setTimeout(HANDSHAKE_TIMEOUT_MS, () => socket.destroy(new Error('handshake timed out')));
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve();
      });
      // The server's side says why (e.g. "no suitable signature algorithm"); it may land just after the client's.
      socket.once('error', (err: Error) =>
        setTimeout(() => {
          const why: Error = serverError ?? err;
          reject(new Error(`a TLS handshake with it fails (${why.message.trim()})`));
        }, 20),
      );
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Checks a CA bundle; returns how many certificates it holds. */
export function checkCaBundle(ca: Buffer): number {
  return pemCertificates(ca, 'client CA bundle').length;
}

/** Reads a file for start-up, saying which flag's file failed. */
export function readFileFor(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${flag} ${file}: ${(err as Error).message}`);
  }
}

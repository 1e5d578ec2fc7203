// Reads and checks certificate material, so a bad file is reported with its
// reason (at start-up: fatal; on reload: logged, previous files kept) instead
// of grpc-js silently dropping every connection.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
  return summarize(leaf);
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

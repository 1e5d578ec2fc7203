// Certificates made at test time with the openssl CLI: CAs and leaves with
// the SANs Mixer's mutual TLS looks at. EC P-256 keeps generation fast.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The SPIFFE identity of Mixer's service account, as in an Istio 1.6 mesh. */
export const MIXER_SPIFFE = 'spiffe://cluster.local/ns/istio-system/sa/istio-mixer-service-account';
export const INTRUDER_SPIFFE = 'spiffe://cluster.local/ns/default/sa/intruder';

export interface KeyPair {
  cert: string;
  key: string;
}

export class Pki {
  constructor(readonly dir: string) {}

  file(name: string): string {
    return path.join(this.dir, name);
  }

  read(name: string): Promise<Buffer> {
    return readFile(this.file(name));
  }

  async ca(name: string): Promise<KeyPair> {
    const pair = { cert: this.file(`${name}.crt`), key: this.file(`${name}.key`) };
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      pair.key,
      '-out',
      pair.cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return pair;
  }

  /** A leaf signed by `ca`; `sans` as openssl writes them, e.g. "DNS:localhost,URI:spiffe://...". */
  async leaf(name: string, ca: KeyPair, options: { sans: string; serial: string }): Promise<KeyPair> {
    const pair = { cert: this.file(`${name}.crt`), key: this.file(`${name}.key`) };
    const csr = this.file(`${name}.csr`);
    const ext = this.file(`${name}.ext`);
    await writeFile(
      ext,
      `subjectAltName=${options.sans}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      pair.key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-set_serial',
      `0x${options.serial}`,
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      pair.cert,
    ]);
    return pair;
  }
}

/** The SANs of an adapter serving certificate for Mixer's mutual TLS. */
export const SERVER_SANS = `DNS:localhost,IP:127.0.0.1,URI:${MIXER_SPIFFE}`;

// TLS and mutual TLS server credentials whose files are reloaded while the
// server runs. grpc-js's certificate-provider credentials do the TLS work and
// swap the secure context; its FileWatcherCertificateProvider re-reads the
// files. Between the two sits CheckedFileProvider: it passes on only a
// certificate whose key matches (a half-rotated pair would otherwise make
// grpc-js drop every new connection), keeps the last good files meanwhile,
// and logs each reload.
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import { checkCaBundle, checkHandshake, checkIdentity, readFileFor, type CertificateSummary } from './tls-files.js';

type CaUpdate = experimental.CaCertificateUpdate;
type IdentityUpdate = experimental.IdentityCertificateUpdate;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export interface TlsOptions {
  /** PEM certificate chain the adapter presents (leaf first). */
  certFile: string;
  /** PEM private key of that leaf. */
  keyFile: string;
  /** PEM CA bundle client certificates must chain to; asks clients for a certificate. */
  clientCaFile?: string | undefined;
  /** Refuse the TLS handshake of a client without a certificate from clientCaFile. */
  requireClientCert: boolean;
}

export interface TlsServing {
  credentials: ServerCredentials;
  /** Resolves once a loopback handshake with the start-up certificate succeeded; rejects with why it failed. */
  verified: Promise<void>;
  /** Stops watching the files (the server's close also does once it stops listening). */
  close(): void;
}

/** Told after each reload attempt of a changed file (metrics). */
export type ReloadListener = (outcome: 'ok' | 'error') => void;

export function createTlsCredentials(
  options: TlsOptions,
  reloadIntervalMs: number,
  log: Logger,
  onReload: ReloadListener = () => undefined,
): TlsServing {
  const provider = new CheckedFileProvider(options, reloadIntervalMs, log, onReload);
  // grpc-js 1.14 declares the parameters as (caProvider, identityProvider, ...)
  // but hands the first to the credentials as the identity provider and the
  // second as the CA provider; one provider serves both here, and without a
  // client CA the first position is the one that must be set.
  const credentials = experimental.createCertificateProviderServerCredentials(
    provider,
    options.clientCaFile === undefined ? null : provider,
    options.requireClientCert,
  );
  const verified = checkHandshake(provider.current.certificate, provider.current.privateKey).catch((err: unknown) => {
    throw new Error(`--tls-cert ${options.certFile}: ${(err as Error).message}`);
  });
  verified.catch(() => undefined); // handled by whoever awaits it; never an unhandled rejection meanwhile
  return { credentials, verified, close: () => provider.close() };
}

/** Served anyway (the operator may be mid-rotation), but clients will refuse it: say so. */
function warnIfOutOfDate(summary: CertificateSummary, log: Logger): void {
  const now = Date.now();
  if (Date.parse(summary.notAfter) < now) log.warn({ notAfter: summary.notAfter }, 'TLS certificate has expired');
  if (Date.parse(summary.notBefore) > now)
    log.warn({ notBefore: summary.notBefore }, 'TLS certificate is not valid yet');
}

class CheckedFileProvider implements experimental.CertificateProvider {
  private identity: IdentityUpdate;
  /** A changed pair being tried in a loopback handshake, or the last one refused (not tried again). */
  private candidate: { update: IdentityUpdate; outcome: 'pending' | 'refused' } | undefined;
  private ca: CaUpdate | null = null;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private readonly watcher: experimental.FileWatcherCertificateProvider;
  private watching = false;
  /** The last problem logged per file kind, so a lasting one is logged once, not every interval. */
  private readonly lastProblem = { identity: '', ca: '' };

  constructor(
    private readonly options: TlsOptions,
    reloadIntervalMs: number,
    private readonly log: Logger,
    private readonly onReload: ReloadListener,
  ) {
    // Start-up reads synchronously, so a bad file stops the start with its
    // reason, and the first connection already finds a secure context.
    const certificate = readFileFor('--tls-cert', options.certFile);
    const privateKey = readFileFor('--tls-key', options.keyFile);
    const summary = checkIdentity(certificate, privateKey);
    this.identity = { certificate, privateKey };
    log.info({ certFile: options.certFile, ...summary }, 'TLS certificate loaded');
    warnIfOutOfDate(summary, log);
    if (options.clientCaFile !== undefined) {
      const caCertificate = readFileFor('--tls-client-ca', options.clientCaFile);
      const certificates = checkCaBundle(caCertificate);
      this.ca = { caCertificate };
      log.info({ clientCaFile: options.clientCaFile, certificates }, 'client CA bundle loaded');
    }
    this.watcher = new experimental.FileWatcherCertificateProvider({
      certificateFile: options.certFile,
      privateKeyFile: options.keyFile,
      caCertificateFile: options.clientCaFile,
      refreshIntervalMs: reloadIntervalMs,
    });
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    // Next tick, as grpc-js's own providers do: the credentials register
    // their watcher right after this call returns.
    process.nextTick(listener, this.identity);
    this.startWatching();
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.stopWatchingIfUnused();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    process.nextTick(listener, this.ca);
    this.startWatching();
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.stopWatchingIfUnused();
  }

  close(): void {
    this.identityListeners.clear();
    this.caListeners.clear();
    this.stopWatchingIfUnused();
  }

  get current(): IdentityUpdate {
    return this.identity;
  }

  private readonly onIdentityRead = (update: IdentityUpdate | null): void => {
    if (!update) return this.problem('identity', 'TLS certificate or key file unreadable; keeping the previous ones');
    if (samePair(update, this.identity)) {
      this.candidate = undefined;
      this.lastProblem.identity = '';
      return;
    }
    if (this.candidate && samePair(update, this.candidate.update)) return; // being tried, or already refused
    let summary: CertificateSummary;
    try {
      summary = checkIdentity(update.certificate, update.privateKey);
    } catch (err) {
      this.candidate = { update, outcome: 'refused' };
      const reason = (err as Error).message;
      return this.problem('identity', `TLS certificate not reloaded, keeping the previous one: ${reason}`);
    }
    // Passed on only after a real handshake with it succeeded: a pair the
    // TLS stack loads may still fail every handshake, and grpc-js would then
    // reset every new connection.
    const candidate: { update: IdentityUpdate; outcome: 'pending' | 'refused' } = { update, outcome: 'pending' };
    this.candidate = candidate;
    checkHandshake(update.certificate, update.privateKey).then(
      () => {
        if (this.candidate !== candidate) return; // a newer pair arrived meanwhile
        this.candidate = undefined;
        this.accept(update, summary);
      },
      (err: unknown) => {
        if (this.candidate !== candidate) return;
        candidate.outcome = 'refused';
        const reason = (err as Error).message;
        this.problem('identity', `TLS certificate not reloaded, keeping the previous one: ${reason}`);
      },
    );
  };

  private accept(update: IdentityUpdate, summary: CertificateSummary): void {
    this.identity = update;
    this.lastProblem.identity = '';
    this.log.info({ certFile: this.options.certFile, ...summary }, 'TLS certificate reloaded');
    this.onReload('ok');
    warnIfOutOfDate(summary, this.log);
    for (const listener of this.identityListeners) listener(update);
  }

  private readonly onCaRead = (update: CaUpdate | null): void => {
    if (!update) return this.problem('ca', 'client CA file unreadable; keeping the previous bundle');
    if (this.ca && update.caCertificate.equals(this.ca.caCertificate)) {
      this.lastProblem.ca = '';
      return;
    }
    let certificates;
    try {
      certificates = checkCaBundle(update.caCertificate);
    } catch (err) {
      const reason = (err as Error).message;
      return this.problem('ca', `client CA bundle not reloaded, keeping the previous one: ${reason}`);
    }
    this.ca = update;
    this.lastProblem.ca = '';
    this.log.info({ clientCaFile: this.options.clientCaFile, certificates }, 'client CA bundle reloaded');
    this.onReload('ok');
    for (const listener of this.caListeners) listener(update);
  };

  private problem(kind: 'identity' | 'ca', message: string): void {
    if (message === this.lastProblem[kind]) return;
    this.lastProblem[kind] = message;
    this.log.warn(message);
    this.onReload('error');
  }

  private startWatching(): void {
    if (this.watching) return;
    this.watching = true;
    this.watcher.addIdentityCertificateListener(this.onIdentityRead);
    if (this.options.clientCaFile !== undefined) this.watcher.addCaCertificateListener(this.onCaRead);
  }

  private stopWatchingIfUnused(): void {
    if (!this.watching || this.identityListeners.size > 0 || this.caListeners.size > 0) return;
    this.watching = false;
    this.watcher.removeIdentityCertificateListener(this.onIdentityRead);
    this.watcher.removeCaCertificateListener(this.onCaRead);
  }
}

function samePair(a: IdentityUpdate, b: IdentityUpdate): boolean {
  return a.certificate.equals(b.certificate) && a.privateKey.equals(b.privateKey);
}

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { CertificatesConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { Secret } from '../util/secret.ts';
import { createCa, type CertificateAuthority } from './ca.ts';
import { describeCertificate, type CertificateDescription } from './inspect.ts';
import { PkiProblem, pkiError } from './pki-error.ts';
import { issueServerCertificate, MAX_SERVER_DAYS } from './issue.ts';
import { publicationUrls, type PublicationUrls } from './publication-urls.ts';
import { acmeCertificateUsable, acmeNamesOf, readAcmeCertificate } from './acme/acme-store.ts';

/** The gateway's CA and server certificate as files in the state directory. */
export interface GatewayPki {
  readonly ca: CertificateAuthority;
  /** `acme`: a public CA's certificate by ACME, its chain in certificatePem after the leaf (not Postern's CA). */
  /** `imported`: the administrator's certificate (server.imported), from a CA other than Postern's. */
  readonly server: { readonly certificatePem: string; readonly keyPem: Secret<string>; readonly acme?: boolean; readonly imported?: boolean };
}

const read = (path: string) => readFileSync(path, 'utf8');

/**
 * Loads the CA and the gateway certificate from `<state>/pki`, making them on first boot (RFC 5280
 * rules in issue.ts). The server certificate is issued again when the configured names change,
 * so clients always find the address they dial in its SANs. Keys are 0600 files, written atomically.
 */
export function loadOrCreatePki(stateDir: string, config: CertificatesConfig, log: Logger, now = new Date()): GatewayPki {
  const dir = join(stateDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca.key'), server: join(dir, 'server.pem'), serverKey: join(dir, 'server.key'), imported: join(dir, 'server.imported') };
  let ca: CertificateAuthority;
  if (existsSync(paths.ca) && existsSync(paths.caKey)) {
    ca = { certificatePem: read(paths.ca), keyPem: new Secret(read(paths.caKey)) };
  } else {
    ca = createCa({ commonName: config.ca.commonName, validityDays: config.ca.validityDays, keyType: 'rsa-2048', now });
    writeFileAtomic(paths.caKey, ca.keyPem.reveal(), 0o600);
    writeFileAtomic(paths.ca, ca.certificatePem, 0o644);
    log.info('made the certificate authority', { commonName: config.ca.commonName });
  }
  // A usable ACME certificate (issue 16) is the gateway's; until there is one, the built-in CA's serves.
  if (config.acme?.enabled) {
    const acme = readAcmeCertificate(stateDir);
    if (acme && acmeCertificateUsable(acme, acmeNamesOf(config), now.getTime())) return { ca, server: { certificatePem: acme.certificatePem, keyPem: acme.keyPem, acme: true } };
  }
  const wanted = [config.server.commonName, ...config.server.sans].map((s) => s.toLowerCase());
  // An imported gateway certificate (a public CA's) is the administrator's: never replaced here.
  if (existsSync(paths.imported) && existsSync(paths.server) && existsSync(paths.serverKey)) {
    return { ca, server: { certificatePem: read(paths.server), keyPem: new Secret(read(paths.serverKey)), imported: true } };
  }
  if (existsSync(paths.server) && existsSync(paths.serverKey)) {
    const current = describeCertificate(read(paths.server));
    const names = current.sans.map((s) => s.value.toLowerCase());
    const fresh = new Date(current.notAfter).getTime() - now.getTime() > 30 * 86_400_000;
    if (fresh && config.server.sans.every((s) => names.includes(s.toLowerCase()))) {
      return { ca, server: { certificatePem: read(paths.server), keyPem: new Secret(read(paths.serverKey)) } };
    }
    log.info('issuing the gateway certificate again', { reason: fresh ? 'names changed' : 'expires within 30 days', names: wanted });
  }
  const publication = publicationUrls(config);
  const issued = issueServerCertificate(ca, { commonName: config.server.commonName, sans: config.server.sans, validityDays: MAX_SERVER_DAYS, now, ...(publication ? { publication } : {}) });
  writeFileAtomic(paths.serverKey, issued.keyPem.reveal(), 0o600);
  writeFileAtomic(paths.server, issued.certificatePem, 0o644);
  return { ca, server: { certificatePem: issued.certificatePem, keyPem: issued.keyPem } };
}

/**
 * Issues the gateway certificate again now (issue 16: one step for a certificate made before it
 * carried a CRL distribution point). An imported certificate is the administrator's: refused.
 */
export function reissueGatewayCertificate(stateDir: string, config: CertificatesConfig, log: Logger, now = new Date()): GatewayPki {
  const dir = join(stateDir, 'pki');
  if (existsSync(join(dir, 'server.imported'))) {
    throw pkiError(PkiProblem.certificate, 'the gateway certificate was imported; import its successor instead of re-issuing it');
  }
  for (const f of ['server.pem', 'server.key']) rmSync(join(dir, f), { force: true });
  log.info('issuing the gateway certificate again', { reason: 'asked to' });
  return loadOrCreatePki(stateDir, config, log, now);
}

/**
 * Why a certificate Postern issued should be issued again, or [] (pure): no CRL distribution point
 * or caIssuers where publication is on or a different one, or a TLS server certificate longer than
 * Apple accepts.
 */
export function reissueReasons(d: Pick<CertificateDescription, 'crlUrls' | 'caIssuerUrls' | 'notBefore' | 'notAfter'>, urls: PublicationUrls | undefined, server: boolean): string[] {
  const reasons: string[] = [];
  // Windows treats a CDP it cannot fetch as "revocation server offline" and refuses SSTP.
  if (!urls && d.crlUrls.length > 0) reasons.push('names a CRL that is no longer published');
  if (urls && !d.crlUrls.includes(urls.crl)) reasons.push(d.crlUrls.length === 0 ? 'no CRL distribution point' : 'a different CRL distribution point');
  if (urls && !d.caIssuerUrls.includes(urls.caIssuers)) reasons.push(d.caIssuerUrls.length === 0 ? 'no CA issuer URL' : 'a different CA issuer URL');
  if (server && d.notAfter.getTime() - d.notBefore.getTime() > 398 * 86_400_000) reasons.push('valid longer than the 398 days Apple accepts');
  return reasons;
}

/**
 * Installs an outside certificate and key: the gateway's own (kept as imported, never re-issued), or
 * a CA that then signs everything (the gateway certificate is issued again from it at the next load).
 * The caller has checked that key and certificate belong together.
 */
export function installPki(stateDir: string, target: 'server' | 'ca', certificatePem: string, keyPem: Secret<string>, chainPems: readonly string[] = []): void {
  const dir = join(stateDir, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (target === 'server') {
    writeFileAtomic(join(dir, 'server.key'), keyPem.reveal(), 0o600);
    writeFileAtomic(join(dir, 'server.pem'), [certificatePem.trim(), ...chainPems.map((c) => c.trim())].join('\n') + '\n', 0o644);
    writeFileAtomic(join(dir, 'server.imported'), `${new Date().toISOString()}\n`, 0o644);
    return;
  }
  writeFileAtomic(join(dir, 'ca.key'), keyPem.reveal(), 0o600);
  writeFileAtomic(join(dir, 'ca.pem'), `${certificatePem.trim()}\n`, 0o644);
  for (const f of ['server.pem', 'server.key', 'server.imported']) rmSync(join(dir, f), { force: true });
}

import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { CertificatesConfig } from '../../config/types.ts';
import { writeFileAtomic } from '../../config/atomic-file.ts';
import { Secret } from '../../util/secret.ts';

/**
 * ACME files in the state directory, under `<state>/pki/acme/`: the account key (kept across
 * certificates: the account is the CA's record of us), and the issued certificate with its chain
 * and key. Keys are 0600, every write atomic.
 */
export interface AcmeCertificate {
  /** Leaf first, then the CA's chain. */
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  readonly notAfter: number;
  /** The DNS names it covers (lowercase). */
  readonly names: readonly string[];
}

export const acmePaths = (stateDir: string) => {
  const dir = join(stateDir, 'pki', 'acme');
  return { dir, accountKey: join(dir, 'account.key'), certificate: join(dir, 'certificate.pem'), key: join(dir, 'certificate.key') };
};

export function readAccountKey(stateDir: string): Secret<string> | undefined {
  const p = acmePaths(stateDir);
  return existsSync(p.accountKey) ? new Secret(readFileSync(p.accountKey, 'utf8')) : undefined;
}

export function writeAccountKey(stateDir: string, keyPem: Secret<string>): void {
  const p = acmePaths(stateDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(p.accountKey, keyPem.reveal(), 0o600);
}

/** The leaf's validity end and DNS names. */
export function describeLeaf(certificatePem: string): { notAfter: number; names: string[] } {
  const leaf = new X509Certificate(certificatePem);
  const names = (leaf.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  return { notAfter: Date.parse(leaf.validTo), names };
}

/** The stored certificate, or undefined when there is none or it cannot be read. */
export function readAcmeCertificate(stateDir: string): AcmeCertificate | undefined {
  const p = acmePaths(stateDir);
  try {
    const certificatePem = readFileSync(p.certificate, 'utf8');
    const keyPem = new Secret(readFileSync(p.key, 'utf8'));
    return { certificatePem, keyPem, ...describeLeaf(certificatePem) };
  } catch {
    return undefined;
  }
}

/** Key first: a crash between the two writes leaves a key without its certificate, never the reverse. */
export function writeAcmeCertificate(stateDir: string, certificatePem: string, keyPem: Secret<string>): AcmeCertificate {
  const p = acmePaths(stateDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(p.key, keyPem.reveal(), 0o600);
  writeFileAtomic(p.certificate, certificatePem, 0o644);
  return { certificatePem, keyPem, ...describeLeaf(certificatePem) };
}

/** Whether a stored certificate can be the gateway's now: unexpired and covering every wanted name. */
export const acmeCertificateUsable = (c: AcmeCertificate, names: readonly string[], now: number): boolean =>
  c.notAfter > now && names.every((n) => c.names.includes(n.toLowerCase()));

/** The names to order: the gateway certificate's DNS names, common name first (a public CA checks each). */
export function acmeNamesOf(certificates: CertificatesConfig): string[] {
  const names = [certificates.server.commonName, ...certificates.server.sans].map((n) => n.toLowerCase()).filter((n) => isIP(n) === 0 && n.includes('.'));
  return [...new Set(names)];
}

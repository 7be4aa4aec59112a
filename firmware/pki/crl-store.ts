import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic-file.ts';
import type { CertificateAuthority } from './ca.ts';
import { createCrl, type RevokedCertificate } from './crl.ts';
import { pemDecode } from './der.ts';
import { loadIssued, revokedOf } from './issued-registry.ts';

/**
 * The published CRL: `<state>/pki/ca.crl` (DER, exactly what the publication listener serves and
 * what a local revocation check of Postern's own CA can read) and `ca.crl.json` beside it (when it
 * was signed, until when, its number, and what it was made from). The files are the hand-over
 * between the API (which republishes on revocation) and the listener (which serves whatever is
 * there), so neither needs a handle on the other.
 */

/** How long a CRL is valid (its nextUpdate); re-signed at half-life, so clients never hold a stale one. */
export const CRL_VALIDITY_DAYS = 7;
const day = 86_400_000;

export interface CrlInfo {
  /** §5.2.3: grows with every CRL. */
  readonly crlNumber: bigint;
  readonly signedAt: Date;
  readonly nextUpdate: Date;
  /** SHA-256 of the CA certificate (DER), so a CA imported since means re-signing. */
  readonly caFingerprint: string;
  /** SHA-256 over the revoked entries it lists, so a revocation it lacks means re-signing. */
  readonly revokedDigest: string;
}

export interface PublishedCrl extends CrlInfo {
  readonly der: Buffer;
}

export const crlPaths = (stateDir: string) => ({ der: join(stateDir, 'pki', 'ca.crl'), info: join(stateDir, 'pki', 'ca.crl.json') });

/** Half-way between signing and nextUpdate: the moment to sign the next one (pure). */
export const crlRefreshAt = (info: Pick<CrlInfo, 'signedAt' | 'nextUpdate'>): Date =>
  new Date(info.signedAt.getTime() + (info.nextUpdate.getTime() - info.signedAt.getTime()) / 2);

/** Why the published CRL must be signed again now, or undefined while it is good (pure). */
export function crlStaleness(info: CrlInfo | undefined, want: { caFingerprint: string; revokedDigest: string }, now: Date): string | undefined {
  if (info === undefined) return 'none published yet';
  if (info.caFingerprint !== want.caFingerprint) return 'the CA changed';
  if (info.revokedDigest !== want.revokedDigest) return 'the revocations changed';
  if (now.getTime() >= crlRefreshAt(info).getTime()) return 'half its validity has passed';
  if (now.getTime() < info.signedAt.getTime()) return 'the clock went back';
  return undefined;
}

export const caFingerprint = (ca: CertificateAuthority): string => createHash('sha256').update(new X509Certificate(ca.certificatePem).raw).digest('hex');

export function revokedDigest(revoked: readonly RevokedCertificate[]): string {
  const lines = revoked.map((r) => `${r.serialHex.toLowerCase()} ${r.revokedAt.toISOString()}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

export function readCrlInfo(stateDir: string): CrlInfo | undefined {
  const { der, info } = crlPaths(stateDir);
  if (!existsSync(der) || !existsSync(info)) return undefined;
  try {
    const raw = JSON.parse(readFileSync(info, 'utf8')) as Record<string, string>;
    const parsed = {
      crlNumber: BigInt(raw['crlNumber'] ?? ''),
      signedAt: new Date(raw['signedAt'] ?? ''),
      nextUpdate: new Date(raw['nextUpdate'] ?? ''),
      caFingerprint: String(raw['caFingerprint']),
      revokedDigest: String(raw['revokedDigest']),
    };
    return Number.isNaN(parsed.signedAt.getTime()) || Number.isNaN(parsed.nextUpdate.getTime()) ? undefined : parsed;
  } catch {
    return undefined; // a damaged file is simply signed again
  }
}

/**
 * Signs a CRL of every revocation in the registry and writes it. The number is the previous one
 * plus one, or the seconds of `now` when larger, so two revocations in one second still get two
 * numbers and a restored backup does not go back.
 */
export function publishCrl(stateDir: string, ca: CertificateAuthority, now: Date): PublishedCrl {
  const revoked = revokedOf(loadIssued(stateDir));
  const previous = readCrlInfo(stateDir);
  const seconds = BigInt(Math.floor(now.getTime() / 1000));
  const crlNumber = previous && previous.crlNumber >= seconds ? previous.crlNumber + 1n : seconds;
  const der = pemDecode('X509 CRL', createCrl(ca, revoked, { now, nextUpdateDays: CRL_VALIDITY_DAYS, crlNumber }));
  if (!der) throw new Error('createCrl gave no CRL');
  const info: CrlInfo = { crlNumber, signedAt: now, nextUpdate: new Date(now.getTime() + CRL_VALIDITY_DAYS * day), caFingerprint: caFingerprint(ca), revokedDigest: revokedDigest(revoked) };
  const paths = crlPaths(stateDir);
  // The CRL first: a crash between the two leaves info that no longer matches, which re-signs.
  writeFileAtomic(paths.der, der, 0o644);
  writeFileAtomic(paths.info, `${JSON.stringify({ ...info, crlNumber: info.crlNumber.toString() }, null, 2)}\n`, 0o644);
  return { ...info, der };
}

/** The published CRL, signed again first when it is missing, stale or no longer what the registry says. */
export function ensureCrl(stateDir: string, ca: CertificateAuthority, now: Date): { crl: PublishedCrl; resigned?: string } {
  const info = readCrlInfo(stateDir);
  const why = crlStaleness(info, { caFingerprint: caFingerprint(ca), revokedDigest: revokedDigest(revokedOf(loadIssued(stateDir))) }, now);
  if (why === undefined && info) return { crl: { ...info, der: readFileSync(crlPaths(stateDir).der) } };
  return { crl: publishCrl(stateDir, ca, now), resigned: why ?? 'unreadable' };
}

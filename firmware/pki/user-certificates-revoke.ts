import type { CertificateAuthority } from './ca.ts';
import { publishCrl } from './crl-store.ts';
import { loadIssued, saveIssued } from './issued-registry.ts';

/**
 * A VPN user removed: the certificates issued for its profiles are revoked with it and the CRL
 * republished at once, so a laptop that still holds one can no longer connect (the own CA's
 * revocation list is what IKE checks, and the live-SA sweep ends what is still up). Returns the
 * serials revoked now.
 */
export function revokeUserCertificates(stateDir: string, ca: CertificateAuthority, user: string, now: Date): string[] {
  const records = loadIssued(stateDir);
  const mine = records.filter((r) => r.user === user && r.revokedAt === undefined);
  if (mine.length === 0) return [];
  for (const r of mine) r.revokedAt = now.toISOString();
  saveIssued(stateDir, records);
  publishCrl(stateDir, ca, now);
  return mine.map((r) => r.serialHex);
}

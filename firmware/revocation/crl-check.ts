import { createHash, type X509Certificate } from 'node:crypto';
import type { CertificateList } from './certificate-list.ts';
import { normalSerial } from './der-read.ts';
import { subjectOf } from './certificate-urls.ts';
import { verifySigned } from './signed-data.ts';

/**
 * Whether a decoded CRL may be used for certificates of `issuer` (RFC 5280 §6.3.3): issued by that
 * CA (same Name, its signature verifies with the CA's key) and current. Undefined when usable, else why not.
 */
export function crlProblem(crl: CertificateList, issuer: X509Certificate, now: Date, skewMs: number): string | undefined {
  const name = subjectOf(issuer);
  if (!name || !Buffer.from(name).equals(Buffer.from(crl.issuer))) return 'the CRL names another issuer';
  if (crl.signatureAlgorithm !== crl.tbsSignatureAlgorithm) return 'the CRL signature algorithms differ (§5.1.1.2)';
  if (!verifySigned(crl.tbs, crl.signatureAlgorithm, crl.signature, issuer.publicKey)) return 'the CRL signature does not verify with the CA key';
  if (crl.thisUpdate.getTime() > now.getTime() + skewMs) return `the CRL is not yet valid (thisUpdate ${crl.thisUpdate.toISOString()})`;
  if (crl.nextUpdate && crl.nextUpdate.getTime() < now.getTime() - skewMs) return `the CRL expired at ${crl.nextUpdate.toISOString()}`;
  return undefined;
}

/** The certificate's entry in the CRL, if it is listed. */
export function crlEntry(crl: CertificateList, certificate: X509Certificate): { revokedAt: Date; reason?: number } | undefined {
  return crl.revoked.get(normalSerial(certificate.serialNumber));
}

/** A stable name for a CA: SHA-256 of its certificate. */
export const caKey = (ca: X509Certificate): string => createHash('sha256').update(ca.raw).digest('hex');

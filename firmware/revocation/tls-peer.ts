import { X509Certificate } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import { revocationVerdict } from './revocation-policy.ts';
import type { RevocationService } from './revocation-service.ts';

/**
 * The revocation check of a TLS server's certificate for Postern's SSTP client (issue 16), as Windows
 * makes it before SSTP goes on: the shell can wait, so a miss is fetched first. Undefined lets the
 * call go on, a reason ends it. Without the issuer in the verified chain there is nothing to check
 * the answer's signature with: treated as "no answer" under the policy of the unknown issuer.
 */
export function tlsRevocationCheck(service: RevocationService, log: Logger): (certificate: X509Certificate, issuer: X509Certificate | undefined) => Promise<string | undefined> {
  return async (certificate, issuer) => {
    if (!issuer) {
      return service.otherPolicy === 'hard' ? `the issuer of the server certificate '${certificate.subject.replace(/\n/g, ', ')}' is not at hand to check its revocation (hard-fail)` : undefined;
    }
    const verdict = revocationVerdict(certificate, await service.checkNow(certificate, issuer));
    if (verdict.verdict === 'refuse') return `server ${verdict.reason}`;
    if (verdict.verdict === 'wait') return `server ${verdict.why}; not waiting longer (hard-fail)`;
    if (verdict.note) log.warn(verdict.note);
    return undefined;
  };
}

/**
 * The CA in a PEM bundle (the dialer's trust list) that issued `certificate`: TLS verified the chain
 * against that list, but node:crypto gives the peer's issuer only when the server sent it.
 */
export function issuerIn(bundle: string | undefined, certificate: X509Certificate): X509Certificate | undefined {
  for (const pem of bundle?.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []) {
    try {
      const ca = new X509Certificate(pem);
      if (certificate.checkIssued(ca) && certificate.verify(ca.publicKey)) return ca;
    } catch { /* not a certificate: skipped */ }
  }
  return undefined;
}

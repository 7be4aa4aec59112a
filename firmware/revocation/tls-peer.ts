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
export function tlsRevocationCheck(service: RevocationService, log: Logger, trust?: string): (certificate: X509Certificate, issuer: X509Certificate | undefined) => Promise<string | undefined> {
  return async (certificate, issuer) => {
    if (!issuer) {
      return service.otherPolicy === 'hard' ? `the issuer of the server certificate '${certificate.subject.replace(/\n/g, ', ')}' is not at hand to check its revocation (hard-fail)` : undefined;
    }
    // The server certificate, then each intermediate CA the server sent, up to the root.
    const chain = tlsChain(certificate, issuer, trust);
    const anchor = chain.at(-1)!.issuer;
    for (const [i, link] of chain.entries()) {
      const what = i === 0 ? 'server' : 'server chain: intermediate CA';
      const verdict = revocationVerdict(link.certificate, await service.checkNow(link.certificate, link.issuer, anchor));
      if (verdict.verdict === 'refuse') return `${what} ${verdict.reason}`;
      if (verdict.verdict === 'wait') return `${what} ${verdict.why}; not waiting longer (hard-fail)`;
      if (verdict.note) log.warn(verdict.note);
    }
    return undefined;
  };
}

const MAX_LINKS = 5;
const selfSigned = (c: X509Certificate): boolean => c.subject === c.issuer && c.checkIssued(c);

/**
 * The verified path as pairs, leaf first: node:tls links a peer certificate to its issuer
 * (`issuerCertificate`, not always further up), else the signer is looked for in the trust bundle;
 * a self-signed root is where it ends, and it is not itself checked.
 */
export function tlsChain(certificate: X509Certificate, issuer: X509Certificate, trust?: string): Array<{ certificate: X509Certificate; issuer: X509Certificate }> {
  const out = [{ certificate, issuer }];
  let current = issuer;
  while (out.length < MAX_LINKS && !selfSigned(current)) {
    const next = current.issuerCertificate ?? issuerIn(trust, current);
    if (!next || !current.checkIssued(next) || !current.verify(next.publicKey)) break;
    out.push({ certificate: current, issuer: next });
    current = next;
  }
  return out;
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

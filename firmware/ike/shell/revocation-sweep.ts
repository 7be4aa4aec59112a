import type { X509Certificate } from 'node:crypto';
import { revocationVerdict, type RevocationChecker } from '../../revocation/revocation-policy.ts';

interface Link { readonly certificate: X509Certificate; readonly issuer: X509Certificate }

/** What the sweep needs of an SA: an IKEv2 SA or an IKEv1 ISAKMP SA. */
export interface CertifiedSa {
  readonly state: string;
  readonly peerCertificate: (Link & { readonly chain?: readonly Link[] }) | undefined;
}

/**
 * Established IKE SAs whose peer certificate is now revoked (issue 16: a revocation in the UI, a
 * refreshed CRL, an OCSP answer gone stale and asked again) or suspended (its user disabled), with
 * why. Only those end a session: a live one is not cut because a responder is unreachable.
 */
export function revokedSessions<S extends CertifiedSa>(sas: readonly S[], checker: RevocationChecker, now: Date): Array<{ sa: S; reason: string }> {
  const out: Array<{ sa: S; reason: string }> = [];
  for (const sa of sas) {
    const peer = sa.peerCertificate;
    if (sa.state !== 'established' || !peer) continue;
    // The peer's certificate and each intermediate CA on its path: any of them revoked ends the session.
    const chain = peer.chain ?? [peer];
    for (const [i, link] of chain.entries()) {
      const answer = checker.check(link.certificate, link.issuer, now, chain.at(-1)!.issuer);
      const verdict = revocationVerdict(link.certificate, answer);
      if (verdict.verdict !== 'refuse' || (answer.status.status !== 'revoked' && answer.status.status !== 'suspended')) continue;
      out.push({ sa, reason: i === 0 ? verdict.reason : `intermediate CA ${verdict.reason}` });
      break;
    }
  }
  return out;
}

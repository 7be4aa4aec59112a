import type { IkeSa } from '../engine/ike-sa.ts';
import { revocationVerdict, type RevocationChecker } from '../../revocation/revocation-policy.ts';

/**
 * Established IKE SAs whose peer certificate is now revoked (issue 16: a revocation in the UI, a
 * refreshed CRL, an OCSP answer gone stale and asked again), with why. Only `revoked` ends a
 * session: a live one is not cut because a responder is unreachable.
 */
export function revokedSessions(sas: readonly IkeSa[], checker: RevocationChecker, now: Date): Array<{ sa: IkeSa; reason: string }> {
  const out: Array<{ sa: IkeSa; reason: string }> = [];
  for (const sa of sas) {
    const peer = sa.peerCertificate;
    if (sa.state !== 'established' || !peer) continue;
    const answer = checker.check(peer.certificate, peer.issuer, now);
    const verdict = revocationVerdict(peer.certificate, answer);
    if (verdict.verdict === 'refuse' && answer.status.status === 'revoked') out.push({ sa, reason: verdict.reason });
  }
  return out;
}

import { X509Certificate } from 'node:crypto';
import { caKeyHash, checkPeerCertificate, type ChainLink } from '../crypto/peer-certificate.ts';
import { signAuth, verifyAuth } from '../crypto/signature-auth.ts';
import type { IkePayload } from '../message.ts';
import { AuthMethod } from '../payloads/auth.ts';
import { CertEncoding } from '../payloads/certificate.ts';
import type { IdPayload } from '../payloads/identity.ts';
import { authOctets, pskBytes, same, sharedKeyAuthFor } from './auth-values.ts';
import type { EngineContext } from './context.ts';
import type { IkeSa } from './ike-sa.ts';
import { first } from './payload-helpers.ts';
import type { IkeConnection } from './types.ts';
import { chainRevocationVerdict } from '../../revocation/revocation-policy.ts';

/**
 * Who proves what, with what (RFC 7296 §2.15): our AUTH (and CERT) by the connection's localAuth,
 * the peer's checked by its peerAuth. EAP keys its final AUTHs with the MSK (eap-rounds.ts).
 */

/** CERT and AUTH for a certificate, or AUTH with the shared key. */
export function ourAuthPayloads(sa: IkeSa, side: 'i' | 'r', id: IdPayload): IkePayload[] {
  const conn = sa.connection!;
  if (conn.localAuth === 'certificate' && conn.certificate) {
    const { method, data } = signAuth(conn.certificate.key.reveal(), authOctets(sa, side, id), sa.peerHashes, { rsaPss: conn.rsaPss === true });
    const chain = (conn.certificate.chain ?? []).map((data): IkePayload => ({ kind: 'CERT', cert: { encoding: CertEncoding.X509_SIGNATURE, data } }));
    return [{ kind: 'CERT', cert: { encoding: CertEncoding.X509_SIGNATURE, data: conn.certificate.der } }, ...chain, { kind: 'AUTH', auth: { method, data } }];
  }
  return [{ kind: 'AUTH', auth: { method: AuthMethod.SHARED_KEY_MIC, data: sharedKeyAuthFor(sa, side, id, pskBytes(sa)) } }];
}

const trusted = (conn: IkeConnection) => (conn.trustedCas ?? []).map((der) => new X509Certificate(der));

/** CERTREQ naming our trusted CAs, when we expect the peer to sign (§3.7). */
export function certRequest(conn: IkeConnection): IkePayload[] {
  if (conn.peerAuth !== 'certificate' || !conn.trustedCas?.length) return [];
  return [{ kind: 'CERTREQ', certreq: { encoding: CertEncoding.X509_SIGNATURE, authorities: trusted(conn).map(caKeyHash) } }];
}

/**
 * Checks the peer's AUTH (and certificate) for `side`: undefined when it holds, why not, or `wait`
 * when a hard-fail revocation check is waiting for its fetch (see revocationHold).
 */
export function checkPeerAuth(ctx: EngineContext, sa: IkeSa, side: 'i' | 'r', id: IdPayload, payloads: readonly IkePayload[]): string | { readonly wait: string } | undefined {
  const conn = sa.connection!;
  const auth = first(payloads, 'AUTH');
  if (!auth) return 'no AUTH payload';
  if (conn.peerAuth === 'certificate') {
    const certs = payloads.filter((p) => p.kind === 'CERT').map((p) => (p.kind === 'CERT' ? p.cert : undefined)).filter((c) => c?.encoding === CertEncoding.X509_SIGNATURE);
    const cert = certs[0];
    if (!cert) return 'no X.509 certificate to check the signature with';
    const check = checkPeerCertificate(cert.data, trusted(conn), id, ctx.wallClock(), certs.slice(1).map((c) => c!.data));
    if (!check.ok) return check.reason;
    const verdict = verifyAuth(check.publicKey, auth.auth.method, auth.auth.data, authOctets(sa, side, id));
    const subject = check.subject.replace(/\n/g, ', ');
    if (verdict.ok) {
      ctx.log('info', `'${subject}' signed with ${verdict.algorithm}`, { connection: conn.name });
      const revocation = revocationHold(ctx, check.chain, conn.name);
      if (revocation === undefined) sa.peerCertificate = { certificate: check.certificate, issuer: check.issuer, chain: check.chain };
      return revocation;
    }
    return verdict.unsupported ? `'${subject}' signed with an unsupported algorithm (${verdict.algorithm})` : `the ${verdict.algorithm} signature of '${subject}' does not verify`;
  }
  if (auth.auth.method !== AuthMethod.SHARED_KEY_MIC) return `auth method ${auth.auth.method}, not a shared key`;
  return same(auth.auth.data, sharedKeyAuthFor(sa, side, id, pskBytes(sa))) ? undefined : 'shared key mismatch';
}

/**
 * The peer certificate's revocation under its CA's policy (issue 16), checked only once its
 * signature verified, so only the key's holder can make us fetch anything. The engine cannot wait,
 * so for hard-fail without an answer yet we do not prefetch (a client's CRL or responder is named in
 * its own certificate, unknown before it shows up) but hold the IKE_AUTH unanswered while the shell
 * fetches: the initiator retransmits (RFC 7296 §2.1) and finds the answer. The wait is bounded by the
 * fetch's timeout (after it, `unknown` is final for a while and hard-fail refuses) and by the
 * half-open timeout; once fetched, the shell keeps the CRL fresh for the next clients.
 */
function revocationHold(ctx: EngineContext, chain: readonly ChainLink[], connection: string): string | { readonly wait: string } | undefined {
  const checker = ctx.options.revocation;
  if (!checker) return undefined;
  const verdict = chainRevocationVerdict(chain, checker, ctx.wallClock());
  if (verdict.verdict === 'refuse') return verdict.reason;
  if (verdict.verdict === 'wait') return { wait: verdict.why };
  if (verdict.note) ctx.log('warn', verdict.note, { connection });
  return undefined;
}

import { constants, privateEncrypt, publicDecrypt, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { checkPeerCertificate, subjectDer, type ChainLink } from '../../ike/crypto/peer-certificate.ts';
import type { IkeConnection } from '../../ike/engine/types.ts';
import { chainRevocationVerdict, type RevocationChecker } from '../../revocation/revocation-policy.ts';
import type { Ikev1Payload, ReceivedPayload } from '../message.ts';
import type { Identification } from '../payloads/identification.ts';
import { AuthMethod, CertEncoding } from '../registry.ts';

/**
 * Main Mode authenticated with RSA signatures (RFC 2409 §5.1):
 *   3 I→R  HDR, KE, Ni, CR…           4 R→I  HDR, KE, Nr, CR…
 *   5 I→R  HDR*, IDii, CERT…, SIG_I   6 R→I  HDR*, IDir, CERT…, SIG_R
 * SIG_I/SIG_R sign HASH_I/HASH_R: the hash bytes themselves with PKCS#1 v1.5 type 1 padding and
 * no DigestInfo (IKEv1 predates it; strongSwan calls it EMSA_PKCS1_NULL). Both ends use the one
 * method the proposal named, so it follows our own key.
 *
 * ECDSA (RFC 4754 §8) is not offered: strongSwan signs IKEv1 ECDSA over HASH_I as a ready digest
 * with a DER signature, not as the RFC says, and node:crypto cannot sign or verify a ready digest
 * with ECDSA. Windows, macOS and iOS use RSA certificates for L2TP/IPsec; Postern's CA issues RSA.
 */

export const isSignatureMethod = (method: number): boolean => method === AuthMethod.RSA_SIGNATURES;

/** The auth method our key signs with, for the proposal (undefined: a key IKEv1 cannot use here). */
export const signatureMethodOf = (key: KeyObject): number | undefined => (key.asymmetricKeyType === 'rsa' ? AuthMethod.RSA_SIGNATURES : undefined);

/** The one auth method a connection offers and accepts in phase 1. */
export function phase1AuthMethod(conn: IkeConnection): number | undefined {
  if (conn.localAuth !== 'certificate' && conn.peerAuth !== 'certificate') return AuthMethod.PRE_SHARED_KEY;
  return conn.certificate ? signatureMethodOf(conn.certificate.key.reveal()) : undefined;
}

export function signHash(key: KeyObject, method: number, hash: Uint8Array): Uint8Array {
  if (method !== AuthMethod.RSA_SIGNATURES) throw new Error(`auth method ${method} is not a signature method Postern uses`);
  return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, hash);
}

export function verifyHash(key: KeyObject, method: number, hash: Uint8Array, signature: Uint8Array): boolean {
  if (method !== AuthMethod.RSA_SIGNATURES || key.asymmetricKeyType !== 'rsa') return false;
  try {
    const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return recovered.length === hash.length && timingSafeEqual(recovered, hash);
  } catch {
    return false; // a signature of the wrong size or padding: simply not valid
  }
}

/** Our certificate and the intermediates to send with SIG (RFC 2408 §3.9, X.509 signature encoding). */
export function certificatePayloads(conn: IkeConnection): Ikev1Payload[] {
  if (!conn.certificate) return [];
  return [conn.certificate.der, ...(conn.certificate.chain ?? [])].map((data) => ({ kind: 'CERT' as const, cert: { encoding: CertEncoding.X509_SIGNATURE, data } }));
}

/** CR payloads naming the CAs we trust by their subject DN (RFC 2408 §3.10; Windows and strongSwan send these). */
export function certificateRequests(conn: IkeConnection): Ikev1Payload[] {
  if (conn.peerAuth !== 'certificate') return [];
  return (conn.trustedCas ?? []).map((der) => ({ kind: 'CR' as const, request: { certType: CertEncoding.X509_SIGNATURE, authority: subjectDnOf(der) } }));
}

/** A CA's subject Name as DER (node:crypto gives it only as text); empty asks for any CA. */
const subjectDnOf = (der: Uint8Array): Uint8Array => subjectDer(Buffer.from(der)) ?? new Uint8Array();

/** The IKEv1 ID in the IKEv2 shape the certificate matcher takes (the type numbers agree, RFC 2407 §4.6.2.1). */
const asIdPayload = (id: Identification) => ({ type: id.idType, data: id.data });

export type PeerSignatureCheck =
  | { readonly ok: true; readonly subject: string; readonly certificate: X509Certificate; readonly issuer: X509Certificate; readonly chain: readonly ChainLink[]; readonly note?: string }
  | { readonly ok: false; readonly reason: string }
  | { readonly wait: string };

/**
 * The peer's certificate (issued by one of the connection's CAs, valid, naming its ID), its
 * signature over `hash`, then its revocation under its CA's policy — only after the signature
 * holds, so nobody but the key's holder can make us fetch. `wait`: a hard-fail check is fetching;
 * drop the message unanswered and let the peer's retransmission find the answer.
 */
export function checkPeerSignature(conn: IkeConnection, method: number, id: Identification, payloads: readonly ReceivedPayload[], hash: Uint8Array, now: Date, revocation?: RevocationChecker): PeerSignatureCheck {
  const sig = payloads.find((p) => p.kind === 'SIG');
  if (!sig || sig.kind !== 'SIG') return { ok: false, reason: 'no SIG payload' };
  const certs = payloads.flatMap((p) => (p.kind === 'CERT' && p.cert.encoding === CertEncoding.X509_SIGNATURE ? [p.cert.data] : []));
  if (!certs[0]) return { ok: false, reason: 'the peer sent no X.509 certificate (CERT payload) to check its signature with' };
  const trusted = (conn.trustedCas ?? []).map((der) => new X509Certificate(der));
  const check = checkPeerCertificate(certs[0], trusted, asIdPayload(id), now, certs.slice(1));
  if (!check.ok) return check;
  const subject = check.subject.replace(/\n/g, ', ');
  if (!verifyHash(check.publicKey, method, hash, sig.data)) return { ok: false, reason: `the signature of '${subject}' does not verify` };
  const held = { ok: true as const, subject, certificate: check.certificate, issuer: check.issuer, chain: check.chain };
  if (!revocation) return held;
  // The peer's certificate and each intermediate CA on its path, each under its issuer's policy.
  const verdict = chainRevocationVerdict(check.chain, revocation, now);
  if (verdict.verdict === 'refuse') return { ok: false, reason: verdict.reason };
  if (verdict.verdict === 'wait') return { wait: verdict.why };
  return { ...held, ...(verdict.note ? { note: verdict.note } : {}) };
}

import { X509Certificate } from 'node:crypto';
import { nonceValue, OCSP_OID, type CertId } from './ocsp-request.ts';
import type { BasicOcspResponse, SingleResponse } from './ocsp-response.ts';
import { verifySigned } from './signed-data.ts';

/**
 * Whether a basic OCSP response answers our request (RFC 6960 §3.2): it is about our certificate,
 * signed by the CA itself or by a responder certificate the CA issued for OCSP signing
 * (§4.2.2.2: id-kp-OCSPSigning in its extended key usage), carries our nonce (§4.4.1), and is
 * current (thisUpdate not in the future, nextUpdate not past, each with `skewMs` of slack).
 */
export type OcspVerdict =
  | { readonly ok: true; readonly single: SingleResponse; readonly signer: 'ca' | 'delegated' }
  | { readonly ok: false; readonly reason: string };

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
/** Without a nextUpdate, "newer information is always available" (§4.2.2.1): accepted this long after thisUpdate. */
export const OCSP_MAX_AGE_MS = 3_600_000;

export function checkOcspResponse(basic: BasicOcspResponse, id: CertId, issuer: X509Certificate, nonce: Uint8Array, now: Date, skewMs: number): OcspVerdict {
  const single = basic.responses.find((r) => r.certId.hashAlgorithm === OCSP_OID.sha1 && r.certId.serialHex === id.serialHex
    && same(r.certId.issuerNameHash, id.issuerNameHash) && same(r.certId.issuerKeyHash, id.issuerKeyHash));
  if (!single) return { ok: false, reason: 'the response is not about this certificate' };
  const signer = responseSigner(basic, issuer, now);
  if (!signer) return { ok: false, reason: 'the response is signed neither by the CA nor by an OCSP responder it certified' };
  if (!basic.nonce || !same(basic.nonce, nonceValue(nonce))) return { ok: false, reason: basic.nonce ? 'the response carries another nonce' : 'the response carries no nonce' };
  const t = now.getTime();
  if (single.thisUpdate.getTime() > t + skewMs) return { ok: false, reason: `the response is not yet valid (thisUpdate ${single.thisUpdate.toISOString()})` };
  const expires = single.nextUpdate?.getTime() ?? single.thisUpdate.getTime() + OCSP_MAX_AGE_MS;
  if (expires < t - skewMs) return { ok: false, reason: `the response is stale (${single.nextUpdate ? 'nextUpdate' : 'thisUpdate'} ${new Date(single.nextUpdate?.getTime() ?? single.thisUpdate.getTime()).toISOString()})` };
  return { ok: true, single, signer };
}

function responseSigner(basic: BasicOcspResponse, issuer: X509Certificate, now: Date): 'ca' | 'delegated' | undefined {
  if (verifySigned(basic.tbs, basic.signatureAlgorithm, basic.signature, issuer.publicKey)) return 'ca';
  for (const der of basic.certs) {
    let responder: X509Certificate;
    try {
      responder = new X509Certificate(der);
    } catch {
      continue;
    }
    const current = now >= new Date(responder.validFrom) && now <= new Date(responder.validTo);
    const forOcsp = (responder.keyUsage ?? []).includes(OCSP_OID.ocspSigning);
    if (!current || !forOcsp || !responder.checkIssued(issuer) || !responder.verify(issuer.publicKey)) continue;
    if (verifySigned(basic.tbs, basic.signatureAlgorithm, basic.signature, responder.publicKey)) return 'delegated';
  }
  return undefined;
}

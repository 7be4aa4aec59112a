/*
 * Certificate payload body (RFC 7296 §3.6):
 * | Cert Encoding | Certificate Data ... |
 * Certificate Request payload body (§3.7):
 * | Cert Encoding | Certification Authority ... |
 * For X.509 encodings the authority field is a run of 20-byte SHA-1 hashes of trusted CA public keys.
 */
import { fail, ok, type Decoded } from './result.ts';

export const CertEncoding = { X509_SIGNATURE: 4, RAW_RSA_KEY: 11, HASH_URL_X509: 12 } as const;

const SHA1_LENGTH = 20;

export interface CertPayload {
  readonly encoding: number;
  readonly data: Uint8Array;
}

export interface CertReqPayload {
  readonly encoding: number;
  /** SHA-1 key hashes for X.509 signature; for other encodings one opaque entry (none when empty). */
  readonly authorities: readonly Uint8Array[];
}

export function decodeCert(body: Uint8Array): Decoded<CertPayload> {
  if (body.length < 2) return fail('INVALID_SYNTAX', 'CERT payload without certificate data', 0);
  return ok({ encoding: body[0] as number, data: body.slice(1) });
}

export function encodeCert(c: CertPayload): Uint8Array {
  const out = new Uint8Array(1 + c.data.length);
  out[0] = c.encoding;
  out.set(c.data, 1);
  return out;
}

export function decodeCertReq(body: Uint8Array): Decoded<CertReqPayload> {
  if (body.length < 1) return fail('INVALID_SYNTAX', 'CERTREQ payload without an encoding', 0);
  const encoding = body[0] as number;
  const data = body.subarray(1);
  if (encoding !== CertEncoding.X509_SIGNATURE) return ok({ encoding, authorities: data.length ? [data.slice()] : [] });
  // An empty list is allowed: some peers ask for "any certificate" that way.
  if (data.length % SHA1_LENGTH) return fail('INVALID_SYNTAX', `${data.length} bytes of CA hashes, not a multiple of 20`, 1);
  const authorities = Array.from({ length: data.length / SHA1_LENGTH }, (_, i) => data.slice(i * SHA1_LENGTH, (i + 1) * SHA1_LENGTH));
  return ok({ encoding, authorities });
}

export function encodeCertReq(r: CertReqPayload): Uint8Array {
  const out = new Uint8Array(1 + r.authorities.reduce((n, a) => n + a.length, 0));
  out[0] = r.encoding;
  let at = 1;
  for (const a of r.authorities) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

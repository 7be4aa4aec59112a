/**
 * PKCS#10 certificate signing requests (RFC 2986 §4), built by a box for its own key and read by the
 * console that issues its certificate (issue 26, token enrollment):
 *
 *   CertificationRequest ::= SEQUENCE {
 *        certificationRequestInfo CertificationRequestInfo,
 *        signatureAlgorithm       AlgorithmIdentifier,
 *        signature                BIT STRING }
 *   CertificationRequestInfo ::= SEQUENCE {
 *        version       INTEGER { v1(0) },
 *        subject       Name,
 *        subjectPKInfo SubjectPublicKeyInfo,
 *        attributes    [0] IMPLICIT SET OF Attribute }
 *
 * Only what Postern writes is read back: a CN, an RSA (2048 bits or more) or ECDSA P-256 key, signed
 * with SHA-256 by that key. The reader never throws; it says why not.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { bitString, children, contentBytes, decodeDer, encodeDer, implicitConstructed, integer, oidText, pemDecode, pemEncode, sequence, type Asn1 } from './der.ts';
import { signatureAlgorithm, signDer, subjectPublicKeyInfo } from './keys.ts';
import { nameWithCommonName } from './names.ts';
import { Oid } from './oids.ts';

/** Far above a CSR for an RSA 4096 key; a bound before any parsing. */
export const MAX_CSR_BYTES = 8 * 1024;

export interface CertificationRequest {
  readonly commonName: string;
  readonly publicKey: KeyObject;
  /** The request as received (its SHA-256 is what an enrollment proof covers). */
  readonly der: Buffer;
}

export type CsrResult = { readonly ok: true; readonly value: CertificationRequest } | { readonly ok: false; readonly why: string };

/** A CSR (DER) for `commonName`, signed with the key it asks a certificate for. */
export function buildCsr(commonName: string, privateKey: KeyObject): Buffer {
  const info = sequence([integer(0n), nameWithCommonName(commonName), subjectPublicKeyInfo(privateKey), implicitConstructed(0, [])]);
  const algorithm = signatureAlgorithm(privateKey);
  return encodeDer(sequence([info, algorithm, bitString(signDer(encodeDer(info), privateKey))]));
}

export const csrPem = (der: Buffer): string => pemEncode('CERTIFICATE REQUEST', der);
export const csrFromPem = (pem: string): Buffer | undefined => pemDecode('CERTIFICATE REQUEST', pem);

/** Reads and checks a CSR: strict DER, a single CN, a supported key, and its own signature holding. */
export function decodeCsr(der: Buffer): CsrResult {
  if (der.length === 0 || der.length > MAX_CSR_BYTES) return { ok: false, why: `a CSR is 1 to ${MAX_CSR_BYTES} bytes` };
  let top: Asn1[];
  try {
    const root = decodeDer(der);
    // Re-encoding must give the same bytes, so the signed info below is exactly what was signed.
    if (!encodeDer(root).equals(der)) return { ok: false, why: 'not DER' };
    top = children(root);
  } catch {
    return { ok: false, why: 'not a DER structure' };
  }
  try {
    return readRequest(top, der);
  } catch {
    return { ok: false, why: 'not a PKCS#10 CertificationRequest' };
  }
}

function readRequest(top: Asn1[], der: Buffer): CsrResult {
  const [info, algorithm, signature] = top;
  if (top.length !== 3 || info === undefined || algorithm === undefined || signature === undefined) return { ok: false, why: 'not a PKCS#10 CertificationRequest' };
  const fields = children(info);
  if (fields.length !== 4 || !contentBytes(fields[0]).equals(Buffer.from([0]))) return { ok: false, why: 'only a version 1 request' };
  const commonName = singleCommonName(fields[1]);
  if (commonName === undefined) return { ok: false, why: 'the subject must be one common name' };
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: encodeDer(fields[2] as Asn1), format: 'der', type: 'spki' });
  } catch {
    return { ok: false, why: 'the public key is not readable' };
  }
  const expected = expectedAlgorithm(publicKey);
  if (expected === undefined) return { ok: false, why: 'the key must be RSA (2048 bits or more) or ECDSA P-256' };
  if (oidText(children(algorithm)[0]) !== expected) return { ok: false, why: 'the signature algorithm must be SHA-256 with the request\'s key' };
  const bits = contentBytes(signature);
  if (bits[0] !== 0) return { ok: false, why: 'the signature is not whole bytes' };
  if (!verify('sha256', encodeDer(info), publicKey, bits.subarray(1))) return { ok: false, why: 'the request\'s signature does not hold' };
  return { ok: true, value: { commonName, publicKey, der } };
}

function expectedAlgorithm(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa') return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? Oid.sha256WithRSAEncryption : undefined;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return Oid.ecdsaWithSHA256;
  return undefined;
}

/** Name ::= SEQUENCE OF RDN; exactly one RDN holding one commonName, as Postern writes it. */
function singleCommonName(name: Asn1 | undefined): string | undefined {
  const rdns = children(name);
  if (rdns.length !== 1) return undefined;
  const attributes = children(rdns[0]);
  if (attributes.length !== 1) return undefined;
  const [type, value] = children(attributes[0]);
  if (oidText(type) !== Oid.commonName || value === undefined) return undefined;
  const text = contentBytes(value).toString('utf8');
  return text.length > 0 && text.length <= 64 && !/[\u0000-\u001f\u007f\ufffd]/.test(text) ? text : undefined;
}

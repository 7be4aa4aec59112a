import { createHash, type X509Certificate } from 'node:crypto';
import { normalSerial } from './der-read.ts';
import { integerFromHex, nullValue, octets, oid, sequence, tlv } from './der-write.ts';
import { publicKeyBits, subjectOf } from './certificate-urls.ts';

/**
 *   OCSPRequest     ::=     SEQUENCE {                          -- RFC 6960 §4.1.1
 *       tbsRequest                  TBSRequest,
 *       optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
 *
 *   TBSRequest      ::=     SEQUENCE {
 *       version             [0]     EXPLICIT Version DEFAULT v1,
 *       requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
 *       requestList                 SEQUENCE OF Request,
 *       requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
 *
 *   Request         ::=     SEQUENCE {
 *       reqCert                     CertID,
 *       singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
 *
 *   CertID          ::=     SEQUENCE {
 *       hashAlgorithm       AlgorithmIdentifier,
 *       issuerNameHash      OCTET STRING, -- Hash of issuer's DN
 *       issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
 *       serialNumber        CertificateSerialNumber }
 *
 * One certificate per request, unsigned, with a nonce (§4.4.1, RFC 8954: an OCTET STRING of 1 to 32
 * octets inside the extension's value). SHA-1 CertIDs: what every responder answers (RFC 5019 §2.1.1).
 */
export const OCSP_OID = { sha1: '1.3.14.3.2.26', nonce: '1.3.6.1.5.5.7.48.1.2', basic: '1.3.6.1.5.5.7.48.1.1', ocspSigning: '1.3.6.1.5.5.7.3.9' } as const;

export interface CertId {
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  /** Lowercase hex, no leading zeros. */
  readonly serialHex: string;
}

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest();

/** The CertID of `certificate` issued by `issuer`, or undefined when the issuer's fields do not read. */
export function certIdOf(certificate: X509Certificate, issuer: X509Certificate): CertId | undefined {
  const name = subjectOf(issuer);
  const key = publicKeyBits(issuer);
  return name && key ? { issuerNameHash: sha1(name), issuerKeyHash: sha1(key), serialHex: normalSerial(certificate.serialNumber) } : undefined;
}

/** The nonce extension's extnValue as sent (the response must carry the same, §4.4.1). */
export const nonceValue = (nonce: Uint8Array): Buffer => octets(nonce);

export function encodeOcspRequest(id: CertId, nonce: Uint8Array): Buffer {
  const certId = sequence(sequence(oid(OCSP_OID.sha1), nullValue()), octets(id.issuerNameHash), octets(id.issuerKeyHash), integerFromHex(id.serialHex));
  const extensions = tlv(0xa2, sequence(sequence(oid(OCSP_OID.nonce), octets(nonceValue(nonce)))));
  return sequence(sequence(sequence(sequence(certId)), extensions));
}

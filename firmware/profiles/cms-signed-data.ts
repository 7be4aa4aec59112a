/*
 * Apple configuration profiles signed with the gateway certificate (issue 17): a CMS SignedData
 * (RFC 5652) with the plist as encapsulated content, which macOS and iOS show as "Verified" once the
 * gateway's CA is trusted, and which no one can alter on the way without the signature failing.
 *
 *   ContentInfo ::= SEQUENCE { contentType id-signedData, content [0] EXPLICIT SignedData }
 *   SignedData ::= SEQUENCE {
 *     version 1, digestAlgorithms SET OF { sha256 },
 *     encapContentInfo SEQUENCE { eContentType id-data, eContent [0] EXPLICIT OCTET STRING },
 *     certificates [0] IMPLICIT SET OF Certificate,          -- the signer's and its chain
 *     signerInfos SET OF SignerInfo }
 *   SignerInfo ::= SEQUENCE {
 *     version 1, sid IssuerAndSerialNumber, digestAlgorithm sha256,
 *     signedAttrs [0] IMPLICIT SET OF Attribute,             -- contentType, signingTime, messageDigest
 *     signatureAlgorithm, signature OCTET STRING }
 *
 * Built here rather than with node-forge's pkcs7, which signs with RSA keys only: an ACME or imported
 * gateway certificate often has an EC key. The signature is node:crypto's over the DER of the
 * signed attributes as a SET (RFC 5652 §5.4), its members in DER order (X.690 §11.6).
 */
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { children, decodeDer, encodeDer, explicit, implicitConstructed, integer, isContextTag, nullValue, octetString, oid, sequence, set, time, type Asn1 } from '../pki/der.ts';
import { Oid } from '../pki/oids.ts';
import type { ProfileSigner } from './profile-input.ts';

const CMS = {
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const pemBlocks = (pem: string): string[] => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const algorithm = (dotted: string, withNull: boolean): Asn1 => sequence([oid(dotted), ...(withNull ? [nullValue()] : [])]);
const attribute = (type: string, value: Asn1): Asn1 => sequence([oid(type), set([value])]);

/** SET OF in DER: members sorted by their encodings. */
function derSet(items: Asn1[], tag?: number): { node: Asn1; der: Buffer } {
  const sorted = items.map(encodeDer).sort(Buffer.compare).map((der) => decodeDer(der));
  const node = tag === undefined ? set(sorted) : implicitConstructed(tag, sorted);
  return { node, der: encodeDer(set(sorted)) };
}

/** The DER of a CMS SignedData over `content`, signed by `signer` at `now`. */
export function signCms(content: Buffer, signer: ProfileSigner, now: Date): Buffer {
  const [leafPem, ...chainPems] = pemBlocks(signer.certificatePem);
  if (!leafPem) throw new Error('the signing certificate file holds no certificate');
  const leaf = new X509Certificate(leafPem);
  const key = createPrivateKey(signer.keyPem.reveal());
  // IssuerAndSerialNumber straight from the certificate's own encoding (tbsCertificate fields).
  const tbs = children(children(decodeDer(leaf.raw))[0]);
  const offset = isContextTag(tbs[0], 0) ? 1 : 0; // the [0] version, when present
  const serial = tbs[offset]!;
  const issuer = tbs[offset + 2]!;

  const signedAttrs = derSet([
    attribute(CMS.contentType, oid(Oid.data)),
    attribute(CMS.signingTime, time(now)),
    attribute(CMS.messageDigest, octetString(createHash('sha256').update(content).digest())),
  ], 0);
  const ec = key.asymmetricKeyType === 'ec';
  if (!ec && key.asymmetricKeyType !== 'rsa') throw new Error(`cannot sign profiles with a ${key.asymmetricKeyType} key`);
  // ECDSA: DER signature (Node's default); RSA: PKCS#1 v1.5, what every profile verifier accepts.
  const signature = sign('sha256', signedAttrs.der, key);
  const signerInfo = sequence([
    integer(1n),
    sequence([issuer, serial]),
    algorithm(CMS.sha256, false),
    signedAttrs.node,
    ec ? algorithm(Oid.ecdsaWithSHA256, false) : algorithm(Oid.rsaEncryption, true),
    octetString(signature),
  ]);
  const certificates = [leaf.raw, ...chainPems.map((p) => new X509Certificate(p).raw)].map((der) => decodeDer(der));
  const signedData = sequence([
    integer(1n),
    set([algorithm(CMS.sha256, false)]),
    sequence([oid(Oid.data), explicit(0, octetString(content))]),
    implicitConstructed(0, certificates),
    set([signerInfo]),
  ]);
  return encodeDer(sequence([oid(CMS.signedData), explicit(0, signedData)]));
}

import { X509Certificate } from 'node:crypto';
import { children, contentBytes, decodeDer, type Asn1 } from './der.ts';
import { readCaIssuers, readCrlDistributionPoints } from './distribution-points.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';
import { readCertificate } from './x509-read.ts';
import { ipText } from '../util/ip.ts';

export interface SubjectAltName {
  readonly type: 'dns' | 'ip' | 'email' | 'uri' | 'other';
  readonly value: string;
}

/** What the web UI and the API show about a certificate. */
export interface CertificateDescription {
  readonly subject: string;
  readonly issuer: string;
  /** Lower-case hex without separators, as in `IssuedCertificate.serialHex`. */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly sans: SubjectAltName[];
  /** Key purpose OIDs (RFC 5280 §4.2.1.12), e.g. 1.3.6.1.5.5.7.3.1 for serverAuth. */
  readonly extKeyUsage: string[];
  readonly isCa: boolean;
  /** Colon-separated upper-case hex, the form Windows and macOS show. */
  readonly fingerprintSha256: string;
  readonly fingerprintSha1: string;
  /** CRL distribution point URLs (RFC 5280 §4.2.1.13); empty for certificates issued before issue 16. */
  readonly crlUrls: string[];
  /** AIA caIssuers URLs (§4.2.2.1). */
  readonly caIssuerUrls: string[];
}

export function describeCertificate(pem: string): CertificateDescription {
  const { x509, extensions } = readCertificate(pem, 'the certificate');
  const san = extensions.get(Oid.subjectAltName);
  let sans: SubjectAltName[];
  try {
    sans = san ? children(decodeDer(san.value)).map(generalName) : [];
  } catch {
    throw pkiError(PkiProblem.certificate, 'the certificate has a malformed subjectAltName extension');
  }
  return {
    subject: x509.subject.split('\n').join(', '),
    issuer: x509.issuer.split('\n').join(', '),
    serialHex: x509.serialNumber.toLowerCase(),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    sans,
    extKeyUsage: [...(x509.keyUsage ?? [])],
    isCa: x509.ca,
    fingerprintSha256: x509.fingerprint256,
    fingerprintSha1: x509.fingerprint,
    crlUrls: readUrls(extensions.get(Oid.cRLDistributionPoints), readCrlDistributionPoints),
    caIssuerUrls: readUrls(extensions.get(Oid.authorityInfoAccess), readCaIssuers),
  };
}

const readUrls = (ext: { readonly value: Buffer } | undefined, read: (der: Buffer) => string[]): string[] => (ext ? read(ext.value) : []);

/** GeneralName (RFC 5280 §4.2.1.6): rfc822Name [1], dNSName [2], URI [6], iPAddress [7]. */
function generalName(node: Asn1): SubjectAltName {
  if (node.constructed) return { type: 'other', value: `[${node.type}]` };
  const bytes = contentBytes(node);
  switch (node.type) {
    case 1:
      return { type: 'email', value: bytes.toString('ascii') };
    case 2:
      return { type: 'dns', value: bytes.toString('ascii') };
    case 6:
      return { type: 'uri', value: bytes.toString('ascii') };
    case 7:
      return { type: 'ip', value: formatIp(bytes) };
    default:
      return { type: 'other', value: `[${node.type}]` };
  }
}

/** Dotted quad, or RFC 5952 text: lower case, the longest run of two or more zero groups as "::". */
function formatIp(bytes: Buffer): string {
  return bytes.length === 4 || bytes.length === 16 ? ipText(bytes) : bytes.toString('hex');
}

/**
 * True when `caPem` is a CA certificate that issued and signed `leafPem`, and, given `at`, both
 * are within their validity then. Unreadable input is simply not a valid chain.
 */
export function verifyChain(leafPem: string, caPem: string, at?: Date): boolean {
  try {
    const leaf = new X509Certificate(leafPem);
    const ca = new X509Certificate(caPem);
    if (!ca.ca || !leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return false;
    if (at === undefined) return true;
    return [leaf, ca].every((c) => new Date(c.validFrom) <= at && at <= new Date(c.validTo));
  } catch {
    return false;
  }
}

import { randomBytes as cryptoRandomBytes, type KeyObject } from 'node:crypto';
import { bitString, encodeDer, explicit, integer, pemEncode, sequence, time, type Asn1 } from './der.ts';
import { signatureAlgorithm, signDer, subjectPublicKeyInfo } from './keys.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/**
 *   Certificate  ::=  SEQUENCE  {                      -- RFC 5280 §4.1
 *        tbsCertificate       TBSCertificate,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING  }
 *
 *   TBSCertificate  ::=  SEQUENCE  {
 *        version         [0]  EXPLICIT Version DEFAULT v1,   -- always v3 (2) here
 *        serialNumber         CertificateSerialNumber,
 *        signature            AlgorithmIdentifier,
 *        issuer               Name,
 *        validity             Validity,
 *        subject              Name,
 *        subjectPublicKeyInfo SubjectPublicKeyInfo,
 *        extensions      [3]  EXPLICIT Extensions OPTIONAL  }
 */
export interface CertificateTemplate {
  readonly serial: Buffer;
  readonly issuer: Asn1;
  readonly subject: Asn1;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKey: KeyObject;
  readonly extensions: readonly Asn1[];
}

/** Encodes the TBSCertificate, signs it with the issuer's key (node:crypto) and returns PEM. */
export function buildCertificate(template: CertificateTemplate, issuerKey: KeyObject): string {
  const algorithm = signatureAlgorithm(issuerKey);
  const tbs = sequence([
    explicit(0, integer(2n)),
    integer(template.serial),
    algorithm,
    template.issuer,
    sequence([time(template.notBefore), time(template.notAfter)]),
    template.subject,
    subjectPublicKeyInfo(template.subjectPublicKey),
    explicit(3, sequence([...template.extensions])),
  ]);
  const tbsDer = encodeDer(tbs);
  const certificate = sequence([tbs, algorithm, bitString(signDer(tbsDer, issuerKey))]);
  return pemEncode('CERTIFICATE', encodeDer(certificate));
}

export type RandomBytes = (size: number) => Buffer;

/**
 * RFC 5280 §4.1.2.2: a positive integer of at most 20 octets, unique per CA. 16 random octets
 * (CA/Browser Forum asks for ≥ 64 random bits); the top bit is cleared so it stays positive and
 * the next one set so the DER encoding keeps all 16 octets.
 */
export function randomSerial(randomBytes: RandomBytes = cryptoRandomBytes): Buffer {
  const serial = Buffer.from(randomBytes(16));
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  return serial;
}

const hour = 3_600_000;
const day = 86_400_000;

/**
 * notBefore is an hour early so a peer whose clock lags (a phone, a router without NTP yet)
 * does not reject a certificate issued a moment ago.
 */
export function validity(now: Date, validityDays: number, maxDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > maxDays) {
    throw pkiError(PkiProblem.validity, `validity must be a whole number of days from 1 to ${maxDays}, got ${validityDays}`);
  }
  if (Number.isNaN(now.getTime())) throw pkiError(PkiProblem.validity, 'the current time is not a valid date');
  return { notBefore: new Date(now.getTime() - hour), notAfter: new Date(now.getTime() + validityDays * day) };
}

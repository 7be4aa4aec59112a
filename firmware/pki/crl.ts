import type { CertificateAuthority } from './ca.ts';
import { bitString, encodeDer, explicit, integer, pemEncode, sequence, time, type Asn1 } from './der.ts';
import { authorityKeyIdentifier, crlNumber } from './extensions.ts';
import { loadIssuer } from './issuer.ts';
import { signatureAlgorithm, signDer } from './keys.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/**
 *   CertificateList  ::=  SEQUENCE  {                     -- RFC 5280 §5.1
 *        tbsCertList          TBSCertList,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING  }
 *
 *   TBSCertList  ::=  SEQUENCE  {
 *        version                 Version OPTIONAL,       -- v2 (1): we have extensions
 *        signature               AlgorithmIdentifier,
 *        issuer                  Name,
 *        thisUpdate              Time,
 *        nextUpdate              Time OPTIONAL,          -- §5.1.2.5: conforming CAs MUST include it
 *        revokedCertificates     SEQUENCE OF SEQUENCE  {
 *             userCertificate         CertificateSerialNumber,
 *             revocationDate          Time,
 *             crlEntryExtensions      Extensions OPTIONAL } OPTIONAL,
 *        crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
 *
 * node-forge has no CRL builder, so the structure is written here and signed with node:crypto.
 */
export interface RevokedCertificate {
  readonly serialHex: string;
  readonly revokedAt: Date;
}

export interface CrlOptions {
  readonly now: Date;
  readonly nextUpdateDays: number;
  /** §5.2.3: must grow with every CRL; by default the seconds since 1970 of `now`. */
  readonly crlNumber?: bigint;
}

const hour = 3_600_000;
const day = 86_400_000;

/** Returns the CRL as PEM ("X509 CRL"). */
export function createCrl(ca: CertificateAuthority, revoked: readonly RevokedCertificate[], options: CrlOptions): string {
  const issuer = loadIssuer(ca);
  if (!Number.isInteger(options.nextUpdateDays) || options.nextUpdateDays < 1 || options.nextUpdateDays > 366) {
    throw pkiError(PkiProblem.validity, `nextUpdateDays must be a whole number from 1 to 366, got ${options.nextUpdateDays}`);
  }
  if (Number.isNaN(options.now.getTime())) throw pkiError(PkiProblem.validity, 'the current time is not a valid date');
  const number = options.crlNumber ?? BigInt(Math.floor(options.now.getTime() / 1000));
  const algorithm = signatureAlgorithm(issuer.key);
  const entries = revokedEntries(revoked);
  const tbs = sequence([
    integer(1n),
    algorithm,
    issuer.name,
    // Back-dated like certificates, so a peer whose clock lags does not call the CRL "not yet valid".
    time(new Date(options.now.getTime() - hour)),
    time(new Date(options.now.getTime() + options.nextUpdateDays * day)),
    // §5.1.2.6: when nothing is revoked the list MUST be absent, not empty.
    ...(entries.length > 0 ? [sequence(entries)] : []),
    // §5.2: conforming CRL issuers MUST include authorityKeyIdentifier and cRLNumber.
    explicit(0, sequence([authorityKeyIdentifier(issuer.keyId), crlNumber(number)])),
  ]);
  const signature = signDer(encodeDer(tbs), issuer.key);
  return pemEncode('X509 CRL', encodeDer(sequence([tbs, algorithm, bitString(signature)])));
}

function revokedEntries(revoked: readonly RevokedCertificate[]): Asn1[] {
  const seen = new Set<string>();
  const entries: Asn1[] = [];
  for (const { serialHex, revokedAt } of revoked) {
    const serial = serialBytes(serialHex);
    const key = serial.toString('hex');
    if (seen.has(key)) continue;
    seen.add(key);
    if (Number.isNaN(revokedAt.getTime())) throw pkiError(PkiProblem.validity, `revocation date of serial ${serialHex} is not a valid date`);
    entries.push(sequence([integer(serial), time(revokedAt)]));
  }
  return entries;
}

/** §4.1.2.2: serial numbers are positive and at most 20 octets. */
function serialBytes(serialHex: string): Buffer {
  const hex = serialHex.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(hex) || /^0+$/.test(hex)) {
    throw pkiError(PkiProblem.serial, `serial ${JSON.stringify(serialHex)} is not a positive hex number of at most 20 octets`);
  }
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
}

import { parseIp } from '../util/ip.ts';
import { bitString, boolean, encodeDer, implicit, implicitConstructed, integer, octetString, oid, sequence, type Asn1 } from './der.ts';
import { Oid } from './oids.ts';

/**
 * X.509 v3 extensions (RFC 5280 §4.2), each built as
 *   Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
 * DER omits `critical` when it is FALSE (X.690 §11.5).
 */
export function extension(extnId: string, critical: boolean, value: Asn1): Asn1 {
  return sequence([oid(extnId), ...(critical ? [boolean(true)] : []), octetString(encodeDer(value))]);
}

/** §4.2.1.9: critical in CA certificates; `pathLength: 0` lets this CA sign end entities only. */
export function basicConstraints(ca: boolean, pathLength?: number): Asn1 {
  const fields = ca ? [boolean(true), ...(pathLength === undefined ? [] : [integer(BigInt(pathLength))])] : [];
  return extension(Oid.basicConstraints, ca, sequence(fields));
}

export const KeyUsageBit = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
} as const;
export type KeyUsage = keyof typeof KeyUsageBit;

/** §4.2.1.3, marked critical as the RFC recommends. A named bit list drops trailing zero bits (X.690 §11.2.2). */
export function keyUsage(usages: readonly KeyUsage[]): Asn1 {
  if (usages.length === 0) throw new TypeError('keyUsage needs at least one usage');
  const positions = usages.map((u) => KeyUsageBit[u]);
  const highest = Math.max(...positions);
  const bytes = Buffer.alloc((highest >> 3) + 1);
  for (const p of positions) bytes[p >> 3] = (bytes[p >> 3] as number) | (0x80 >> (p & 7));
  return extension(Oid.keyUsage, true, bitString(bytes, 7 - (highest & 7)));
}

/** §4.2.1.12, non-critical so that software unaware of a purpose OID still accepts the certificate. */
export const extKeyUsage = (purposes: readonly string[]): Asn1 => extension(Oid.extKeyUsage, false, sequence(purposes.map(oid)));

export type GeneralName = { readonly type: 'dns' | 'ip' | 'email'; readonly value: string };

/**
 * §4.2.1.6 GeneralName: rfc822Name [1] and dNSName [2] are IA5String, iPAddress [7] is the
 * 4 or 16 address octets. Non-critical because the subject DN is never empty here.
 */
export function subjectAltName(names: readonly GeneralName[]): Asn1 {
  const encoded = names.map((name) => {
    if (name.type === 'ip') {
      const ip = parseIp(name.value);
      if (!ip) throw new TypeError('subjectAltName: unchecked IP address');
      return implicit(7, ip.bytes);
    }
    return implicit(name.type === 'dns' ? 2 : 1, Buffer.from(name.value, 'ascii'));
  });
  return extension(Oid.subjectAltName, false, sequence(encoded));
}

/** §4.2.1.2 */
export const subjectKeyIdentifier = (id: Buffer): Asn1 => extension(Oid.subjectKeyIdentifier, false, octetString(id));

/** §4.2.1.1: keyIdentifier [0] only; MUST be present in certificates and CRLs a CA issues (§5.2.1). */
export const authorityKeyIdentifier = (id: Buffer): Asn1 => extension(Oid.authorityKeyIdentifier, false, sequence([implicit(0, id)]));

/** §5.2.3: a monotonically increasing sequence number for CRLs. */
export const crlNumber = (n: bigint): Asn1 => extension(Oid.cRLNumber, false, integer(n));

/** GeneralName uniformResourceIdentifier [6] IA5String (§4.2.1.6); only plain ASCII URLs are written. */
function uri(url: string): Asn1 {
  if (!/^[\x21-\x7e]+$/.test(url)) throw new TypeError('uniformResourceIdentifier: not a printable ASCII URL');
  return implicit(6, Buffer.from(url, 'ascii'));
}

/**
 * §4.2.1.13, non-critical as the RFC recommends:
 *   CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
 *   DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
 *   DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
 * A tag on a CHOICE is explicit (X.680 §31.2.7), so [0] wraps the choice, whose fullName [0]
 * implicitly replaces the GeneralNames SEQUENCE tag. One point, no reasons, no cRLIssuer: the CA
 * signs its own full CRL, the one form Windows CryptoAPI and OpenSSL both fetch.
 */
export const crlDistributionPoints = (urls: readonly string[]): Asn1 =>
  extension(Oid.cRLDistributionPoints, false, sequence([sequence([implicitConstructed(0, [implicitConstructed(0, urls.map(uri))])])]));

/**
 * §4.2.2.1 AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod, accessLocation };
 * caIssuers points at the DER issuer certificate over HTTP, where Windows goes to build a chain it
 * lacks. Non-critical (MUST, §4.2.2.1).
 */
export const authorityInfoAccess = (caIssuers: readonly string[]): Asn1 =>
  extension(Oid.authorityInfoAccess, false, sequence(caIssuers.map((url) => sequence([oid(Oid.caIssuers), uri(url)]))));

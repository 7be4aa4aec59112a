import type { X509Certificate } from 'node:crypto';
import { bitStringBytes, contents, ctx, element, oidText, readChildren, readExtensions, readWhole, Tag, type Tlv } from './der-read.ts';

/**
 * What a revocation check needs from a certificate (RFC 5280 §4.1): its subject Name and public key
 * bits (an OCSP CertID hashes the issuer's), and where its status is published: the CRL distribution
 * points (§4.2.1.13) and the OCSP responders in its authorityInfoAccess (§4.2.2.1).
 */
const OID = { cRLDistributionPoints: '2.5.29.31', authorityInfoAccess: '1.3.6.1.5.5.7.1.1', ocsp: '1.3.6.1.5.5.7.48.1' } as const;

/** The TBSCertificate's fields: [0] version, serial, signature, issuer, validity, subject, spki, ... */
function tbsFields(der: Uint8Array): Tlv[] | undefined {
  const outer = readWhole(der, Tag.SEQUENCE);
  const tbs = outer && readChildren(der, outer)?.[0];
  const fields = tbs && tbs.tag === Tag.SEQUENCE ? readChildren(der, tbs) : undefined;
  if (!fields) return undefined;
  return fields[0]?.tag === ctx(0) ? fields.slice(1) : fields;
}

export function subjectOf(cert: X509Certificate): Uint8Array | undefined {
  const f = tbsFields(cert.raw);
  return f?.[4]?.tag === Tag.SEQUENCE ? element(cert.raw, f[4]) : undefined;
}

/** The subjectPublicKey BIT STRING's bits (what RFC 6960 §4.1.1's issuerKeyHash hashes). */
export function publicKeyBits(cert: X509Certificate): Uint8Array | undefined {
  const f = tbsFields(cert.raw);
  const spki = f?.[5]?.tag === Tag.SEQUENCE ? readChildren(cert.raw, f[5]) : undefined;
  return spki?.length === 2 ? bitStringBytes(cert.raw, spki[1]!) : undefined;
}

function extensionValue(cert: X509Certificate, id: string): Uint8Array | undefined {
  const f = tbsFields(cert.raw);
  const wrapper = f?.find((x) => x.tag === ctx(3));
  const inner = wrapper && readChildren(cert.raw, wrapper);
  const exts = inner?.length === 1 ? readExtensions(cert.raw, inner[0]!) : undefined;
  const ext = exts?.get(id);
  return ext && contents(cert.raw, ext.value);
}

/** URIs among GeneralNames ([6] IA5String, §4.2.1.6). */
function uris(b: Uint8Array, names: Tlv[]): string[] {
  return names.filter((n) => n.tag === 0x86).map((n) => Buffer.from(contents(b, n)).toString('latin1'));
}

/** CRL distribution point URLs: each DistributionPoint's fullName URIs (no cRLIssuer, no reasons subset). */
export function crlUrls(cert: X509Certificate): string[] {
  const v = extensionValue(cert, OID.cRLDistributionPoints);
  const list = v && readWhole(v, Tag.SEQUENCE);
  const points = list && readChildren(v, list);
  if (!v || !points) return [];
  const out: string[] = [];
  for (const point of points) {
    const parts = point.tag === Tag.SEQUENCE ? readChildren(v, point) : undefined;
    // A point limited to some reasons or naming another CRL issuer is not a complete CRL of this CA.
    if (!parts || parts.some((p) => p.tag === ctx(1, false) || p.tag === ctx(1) || p.tag === ctx(2))) continue;
    const name = parts.find((p) => p.tag === ctx(0));
    const fullName = name && readChildren(v, name)?.find((n) => n.tag === ctx(0));
    const general = fullName && readChildren(v, fullName);
    if (general) out.push(...uris(v, general));
  }
  return out;
}

/** OCSP responder URLs from authorityInfoAccess. */
export function ocspUrls(cert: X509Certificate): string[] {
  const v = extensionValue(cert, OID.authorityInfoAccess);
  const list = v && readWhole(v, Tag.SEQUENCE);
  const descriptions = list && readChildren(v, list);
  if (!v || !descriptions) return [];
  return descriptions.flatMap((d) => {
    const parts = d.tag === Tag.SEQUENCE ? readChildren(v, d) : undefined;
    return parts?.length === 2 && oidText(v, parts[0]!) === OID.ocsp ? uris(v, [parts[1]!]) : [];
  });
}

/** Only plain HTTP is fetched (§4.2.1.13: HTTPS would need a revocation check of its own to trust). */
export const isHttpUrl = (url: string): boolean => {
  try {
    return new URL(url).protocol === 'http:';
  } catch {
    return false;
  }
};

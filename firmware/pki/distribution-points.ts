import { children, contentBytes, decodeDer, isContextTag, oidText, type Asn1 } from './der.ts';
import { Oid } from './oids.ts';

/**
 * Readers for the URLs a certificate points to (RFC 5280 §4.2.1.13 cRLDistributionPoints, §4.2.2.1
 * authorityInfoAccess), for the API's view of what was issued and for a revocation checker reading
 * a peer's certificate. Peer input: a malformed extension gives no URLs, never an exception.
 */

/** The uniformResourceIdentifier [6] entries of a GeneralNames list; other name forms are skipped. */
function uris(names: readonly Asn1[]): string[] {
  return names.filter((n) => isContextTag(n, 6) && !n.constructed).map((n) => contentBytes(n).toString('latin1'));
}

/**
 * The fullName URIs of every DistributionPoint (`distributionPoint [0] { fullName [0] GeneralNames }`);
 * points naming the CRL relative to an issuer ([1]) or carrying only a cRLIssuer are left out.
 */
export function readCrlDistributionPoints(extnValue: Buffer): string[] {
  try {
    return children(decodeDer(extnValue)).flatMap((point) => {
      const name = children(point).find((f) => isContextTag(f, 0));
      const fullName = name ? children(name).find((f) => isContextTag(f, 0) && f.constructed) : undefined;
      return fullName ? uris(children(fullName)) : [];
    });
  } catch {
    return [];
  }
}

/** The caIssuers locations (id-ad-caIssuers) of an AuthorityInfoAccessSyntax that are URIs. */
export function readCaIssuers(extnValue: Buffer): string[] {
  return readAccess(extnValue, Oid.caIssuers);
}

function readAccess(extnValue: Buffer, method: string): string[] {
  try {
    return children(decodeDer(extnValue)).flatMap((description) => {
      const [accessMethod, location] = children(description);
      return accessMethod && location && oidText(accessMethod) === method ? uris([location]) : [];
    });
  } catch {
    return [];
  }
}

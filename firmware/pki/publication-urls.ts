import type { CertificatesConfig } from '../config/types.ts';
import { parseIp } from '../util/ip.ts';
import { isDnsName } from './names.ts';

/**
 * Where the gateway publishes its CRL and CA certificate (issue 16), and the URLs written into the
 * certificates it issues. Plain HTTP on purpose: RFC 5280 §4.2.1.13 names http URIs for CRLs (the
 * CRL is signed; an https CDP would need a revocation check of its own), and Windows fetches the
 * CDP before an SSTP tunnel exists, so it must be the name clients reach from outside.
 */
export const PublicationPath = { crl: '/pki/ca.crl', caCertificate: '/pki/ca.crt' } as const;

export const DEFAULT_PUBLICATION_PORT = 80;
export const DEFAULT_PUBLICATION_LISTEN = '0.0.0.0';

export interface PublicationUrls {
  /** The DER CRL (application/pkix-crl): the CRL distribution point. */
  readonly crl: string;
  /** The DER CA certificate (application/pkix-cert): AIA caIssuers. */
  readonly caIssuers: string;
}

/** Absent `enabled` means on: certificates without a CDP are what Windows refuses. */
export const publicationEnabled = (certificates: CertificatesConfig): boolean => certificates.publication?.enabled ?? true;

/**
 * The name in the URLs: the configured public name, else the gateway certificate's first DNS
 * name, else its first address. Undefined when there is none: no URL is better than a wrong one.
 */
export function publicationHost(certificates: CertificatesConfig): string | undefined {
  const configured = certificates.publication?.host;
  if (configured !== undefined && configured !== '') return configured.toLowerCase();
  const sans = certificates.server.sans;
  return sans.find((s) => parseIp(s) === undefined && isDnsName(s.toLowerCase()))?.toLowerCase() ?? sans.find((s) => parseIp(s) !== undefined);
}

/** The URLs issued certificates carry, or undefined when publication is off or has no name. */
export function publicationUrls(certificates: CertificatesConfig): PublicationUrls | undefined {
  if (!publicationEnabled(certificates)) return undefined;
  const host = publicationHost(certificates);
  if (host === undefined) return undefined;
  const port = certificates.publication?.port ?? DEFAULT_PUBLICATION_PORT;
  // RFC 3986 §3.2.2: an IPv6 literal goes in brackets; the default port is left out (§6.2.3).
  const authority = `${parseIp(host)?.family === 6 ? `[${host.split('%')[0]}]` : host}${port === DEFAULT_PUBLICATION_PORT ? '' : `:${port}`}`;
  return { crl: `http://${authority}${PublicationPath.crl}`, caIssuers: `http://${authority}${PublicationPath.caCertificate}` };
}

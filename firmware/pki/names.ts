import { parseIp } from '../util/ip.ts';
import { oid, sequence, set, utf8String, type Asn1 } from './der.ts';
import type { GeneralName } from './extensions.ts';
import { Oid } from './oids.ts';
import { PkiProblem, pkiError } from './pki-error.ts';

/** RFC 5280 Appendix A: ub-common-name is 64. Control characters never belong in a name. */
export function checkCommonName(commonName: string, what: string): string {
  if (commonName.length === 0 || commonName.length > 64 || /[\u0000-\u001f\u007f]/.test(commonName)) {
    throw pkiError(PkiProblem.commonName, `${what} common name must be 1 to 64 printable characters`);
  }
  return commonName;
}

/** Name ::= SEQUENCE OF RDN holding the single CN, as a UTF8String (RFC 5280 §4.1.2.6). */
export const nameWithCommonName = (commonName: string): Asn1 =>
  sequence([set([sequence([oid(Oid.commonName), utf8String(commonName)])])]);

/** A host name in preferred name syntax (RFC 1034 §3.5, RFC 5280 §4.2.1.6), optionally *. leftmost. */
const dnsName = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const isDnsName = (text: string): boolean => text.length <= 253 && dnsName.test(text);

/**
 * Sorts a configured SAN into iPAddress or dNSName. IP addresses must be iPAddress entries:
 * Windows, macOS/iOS and strongSwan match a server reached by address only against those.
 */
export function classifySan(text: string): GeneralName {
  const ip = parseIp(text);
  if (ip) return { type: 'ip', value: text.split('%')[0] as string };
  const lower = text.toLowerCase();
  if (isDnsName(lower)) return { type: 'dns', value: lower };
  throw pkiError(
    PkiProblem.subjectAltName,
    `subject alternative name ${JSON.stringify(text)} is neither an IP address nor an ASCII host name (use punycode for IDNs)`,
  );
}

/** rfc822Name is an IA5String addr-spec (RFC 5280 §4.2.1.6); kept to plain ASCII local@domain. */
export function checkEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1).toLowerCase();
  if (at <= 0 || local.length > 64 || !/^[\x21-\x7e]+$/.test(local) || local.includes('@') || !isDnsName(domain) || domain.startsWith('*')) {
    throw pkiError(PkiProblem.email, `e-mail address ${JSON.stringify(email)} is not a plain ASCII local@domain address`);
  }
  return `${local}@${domain}`;
}

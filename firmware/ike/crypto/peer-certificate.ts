import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { IdType, idToString, type IdPayload } from '../payloads/identity.ts';
import { sameName } from './distinguished-name.ts';

/**
 * A peer's end-entity certificate for IKE authentication (RFC 7296 §2.15, §3.6; RFC 4945 §3): it
 * must be issued and signed by one of our trusted CAs, be valid now, and name the peer's IKE ID in
 * its subjectAltName (or subject, for a DN ID). Returns its public key for the AUTH check.
 */
export type CertificateCheck =
  | {
    readonly ok: true; readonly publicKey: KeyObject; readonly subject: string; readonly certificate: X509Certificate;
    /** The CA that signed it (trusted or an intermediate), for its revocation check. */
    readonly issuer: X509Certificate;
    /** Every certificate of the path with the one that signed it, leaf first, up to the trusted CA: each is checked for revocation. */
    readonly chain: readonly ChainLink[];
  }
  | { readonly ok: false; readonly reason: string };

/** A certificate of a verified path and the CA certificate that signed it. */
export interface ChainLink {
  readonly certificate: X509Certificate;
  readonly issuer: X509Certificate;
}

const validAt = (c: X509Certificate, now: Date) => now >= new Date(c.validFrom) && now <= new Date(c.validTo);
const MAX_CHAIN = 4;

/**
 * `intermediates` are the further CERT payloads the peer sent (RFC 7296 §3.6): CA certificates
 * between its own and one of ours, each checked for being a CA, its signature and its validity.
 */
export function checkPeerCertificate(der: Uint8Array, trusted: readonly X509Certificate[], id: IdPayload, now: Date, intermediates: readonly Uint8Array[] = []): CertificateCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return { ok: false, reason: 'the certificate does not parse' };
  }
  const pool = intermediates.flatMap((d) => {
    try {
      const c = new X509Certificate(d);
      return c.ca && validAt(c, now) ? [c] : [];
    } catch {
      return [];
    }
  });
  let current = cert;
  let anchored = false;
  let issuer: X509Certificate | undefined;
  const chain: ChainLink[] = [];
  for (let depth = 0; depth <= MAX_CHAIN && !anchored; depth++) {
    const at = current;
    const anchor = trusted.find((ca) => at.checkIssued(ca) && at.verify(ca.publicKey));
    anchored = anchor !== undefined;
    issuer ??= anchor;
    if (anchor) chain.push({ certificate: at, issuer: anchor });
    if (anchored) break;
    const next = pool.find((ic) => ic !== at && at.checkIssued(ic) && at.verify(ic.publicKey));
    if (!next) break;
    issuer ??= next;
    chain.push({ certificate: at, issuer: next });
    current = next;
  }
  if (!anchored) return { ok: false, reason: `certificate '${cert.subject.replace(/\n/g, ', ')}' is not signed by a trusted CA` };
  if (!validAt(cert, now)) return { ok: false, reason: `certificate '${cert.subject.replace(/\n/g, ', ')}' is not valid now (${cert.validFrom} to ${cert.validTo})` };
  if (!idMatches(cert, id)) return { ok: false, reason: `certificate '${cert.subject.replace(/\n/g, ', ')}' does not name the ID '${idToString(id)}'` };
  return { ok: true, publicKey: cert.publicKey, subject: cert.subject, certificate: cert, issuer: issuer!, chain };
}

function idMatches(cert: X509Certificate, id: IdPayload): boolean {
  const text = idToString(id);
  switch (id.type) {
    case IdType.ID_FQDN: return cert.checkHost(text, { wildcards: false, subject: 'never' }) !== undefined;
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR: return cert.checkIP(text) !== undefined;
    case IdType.ID_RFC822_ADDR: return cert.checkEmail(text, { subject: 'never' }) !== undefined;
    // A DN ID is the certificate's subject, compared as names (RFC 5280 §7.1), not as octets.
    case IdType.ID_DER_ASN1_DN: {
      const subject = subjectDer(Buffer.from(cert.raw));
      return subject !== undefined && sameName(subject, id.data);
    }
    default: return false;
  }
}

/** CERTREQ authorities (RFC 7296 §3.7): SHA-1 of each trusted CA's SubjectPublicKeyInfo. */
export function caKeyHash(ca: X509Certificate): Buffer {
  return createHash('sha1').update(ca.publicKey.export({ type: 'spki', format: 'der' })).digest();
}

/** One DER TLV at `at`: where its value starts and where the whole element ends. */
function tlv(b: Buffer, at: number): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > b.length) return undefined;
  const tag = b[at]!;
  let length = b[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 3 || start + n > b.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | b[start + i]!;
    start += n;
  }
  return start + length <= b.length ? { tag, start, end: start + length } : undefined;
}

/** The subject Name of a certificate (RFC 5280 §4.1: the sixth field of tbsCertificate, after an optional [0] version). */
export function subjectDer(certificate: Buffer): Buffer | undefined {
  const outer = tlv(certificate, 0);
  const tbs = outer && tlv(certificate, outer.start);
  if (!tbs) return undefined;
  let at = tbs.start;
  const first = tlv(certificate, at);
  if (first?.tag === 0xa0) at = first.end; // version
  for (let field = 0; field < 4; field++) { // serialNumber, signature, issuer, validity
    const f = tlv(certificate, at);
    if (!f) return undefined;
    at = f.end;
  }
  const subject = tlv(certificate, at);
  return subject?.tag === 0x30 ? certificate.subarray(at, subject.end) : undefined;
}

import { algorithmOid, bitStringBytes, ctx, element, readChildren, readExtensions, readTime, readWhole, serialHex, smallInt, Tag, type Tlv } from './der-read.ts';

/**
 *   CertificateList  ::=  SEQUENCE  {                     -- RFC 5280 §5.1
 *        tbsCertList          TBSCertList,
 *        signatureAlgorithm   AlgorithmIdentifier,
 *        signatureValue       BIT STRING  }
 *
 *   TBSCertList  ::=  SEQUENCE  {
 *        version                 Version OPTIONAL,       -- if present, MUST be v2
 *        signature               AlgorithmIdentifier,
 *        issuer                  Name,
 *        thisUpdate              Time,
 *        nextUpdate              Time OPTIONAL,
 *        revokedCertificates     SEQUENCE OF SEQUENCE  {
 *             userCertificate         CertificateSerialNumber,
 *             revocationDate          Time,
 *             crlEntryExtensions      Extensions OPTIONAL  -- if present, version MUST be v2
 *                                  }  OPTIONAL,
 *        crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
 *
 * A CRL fetched from a peer's distribution point: decoded without trusting a byte (lengths first,
 * never a throw). The signature is checked against the issuing CA elsewhere (crl-check.ts).
 */
export interface CertificateList {
  /** The TBSCertList as sent: what the signature covers. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  /** The inner `signature` field, which §5.1.1.2 requires to equal signatureAlgorithm. */
  readonly tbsSignatureAlgorithm: string;
  readonly signature: Uint8Array;
  /** The issuer Name, DER. */
  readonly issuer: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** Serial (lowercase hex, no leading zeros) → when it was revoked and, if given, why (§5.3.1). */
  readonly revoked: ReadonlyMap<string, { readonly revokedAt: Date; readonly reason?: number }>;
  readonly crlNumber: bigint | undefined;
}

export type CrlDecoded = { readonly ok: true; readonly crl: CertificateList } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): CrlDecoded => ({ ok: false, reason });

/** CRL extensions Postern understands (§5.2): a critical one outside these makes the CRL unusable. */
const CRL_EXTENSIONS = { cRLNumber: '2.5.29.20', authorityKeyIdentifier: '2.5.29.35', issuerAltName: '2.5.29.18' } as const;
const ENTRY_EXTENSIONS = { reasonCode: '2.5.29.21', invalidityDate: '2.5.29.24' } as const;
const MAX_CRL_BYTES = 8 * 1024 * 1024;

export function decodeCertificateList(der: Uint8Array): CrlDecoded {
  if (der.length > MAX_CRL_BYTES) return fail('the CRL is too large');
  const outer = readWhole(der, Tag.SEQUENCE);
  const top = outer && readChildren(der, outer);
  if (!top || top.length !== 3) return fail('not a CertificateList (SEQUENCE of three)');
  const [tbsTlv, algTlv, sigTlv] = top as [Tlv, Tlv, Tlv];
  const signatureAlgorithm = algorithmOid(der, algTlv);
  const signature = bitStringBytes(der, sigTlv);
  if (!signatureAlgorithm || !signature) return fail('bad signatureAlgorithm or signatureValue');
  const f = tbsTlv.tag === Tag.SEQUENCE ? readChildren(der, tbsTlv) : undefined;
  if (!f) return fail('bad TBSCertList');
  let i = 0;
  if (f[i]?.tag === Tag.INTEGER) {
    if (smallInt(der, f[i]!) !== 1) return fail('CRL version is not v2');
    i++;
  }
  const tbsAlg = f[i] && algorithmOid(der, f[i]!);
  const issuer = f[i + 1];
  const thisUpdate = f[i + 2] && readTime(der, f[i + 2]!);
  if (!tbsAlg || issuer?.tag !== Tag.SEQUENCE || !thisUpdate) return fail('bad signature, issuer or thisUpdate');
  i += 3;
  let nextUpdate: Date | undefined;
  if (f[i]?.tag === Tag.UTC_TIME || f[i]?.tag === Tag.GENERALIZED_TIME) {
    nextUpdate = readTime(der, f[i]!);
    if (!nextUpdate) return fail('bad nextUpdate');
    i++;
  }
  let revoked = new Map<string, { revokedAt: Date; reason?: number }>();
  if (f[i]?.tag === Tag.SEQUENCE) {
    const entries = readRevoked(der, f[i]!);
    if (typeof entries === 'string') return fail(entries);
    revoked = entries;
    i++;
  }
  let crlNumber: bigint | undefined;
  if (f[i]?.tag === ctx(0)) {
    const ext = readCrlExtensions(der, f[i]!);
    if (typeof ext === 'string') return fail(ext);
    crlNumber = ext.crlNumber;
    i++;
  }
  if (i !== f.length) return fail('unexpected fields in TBSCertList');
  return { ok: true, crl: { tbs: element(der, tbsTlv), signatureAlgorithm, tbsSignatureAlgorithm: tbsAlg, signature, issuer: element(der, issuer), thisUpdate, nextUpdate, revoked, crlNumber } };
}

function readRevoked(der: Uint8Array, list: Tlv): Map<string, { revokedAt: Date; reason?: number }> | string {
  const entries = readChildren(der, list);
  if (!entries) return 'bad revokedCertificates';
  const out = new Map<string, { revokedAt: Date; reason?: number }>();
  for (const entry of entries) {
    const e = entry.tag === Tag.SEQUENCE ? readChildren(der, entry) : undefined;
    const serial = e?.[0] && serialHex(der, e[0]);
    const revokedAt = e?.[1] && readTime(der, e[1]);
    if (!e || e.length < 2 || e.length > 3 || !serial || !revokedAt) return 'bad revoked entry';
    let reason: number | undefined;
    if (e[2]) {
      const exts = readExtensions(der, e[2]);
      if (!exts) return 'bad crlEntryExtensions';
      for (const [id, x] of exts) {
        if (id === ENTRY_EXTENSIONS.reasonCode) {
          const inner = readWhole(der.subarray(x.value.start, x.value.end), Tag.ENUMERATED);
          reason = inner && smallInt(der.subarray(x.value.start, x.value.end), inner);
        } else if (x.critical && id !== ENTRY_EXTENSIONS.invalidityDate) return `unknown critical entry extension ${id}`;
      }
    }
    out.set(serial, reason === undefined ? { revokedAt } : { revokedAt, reason });
  }
  return out;
}

function readCrlExtensions(der: Uint8Array, wrapper: Tlv): { crlNumber?: bigint } | string {
  const inner = readChildren(der, wrapper);
  const exts = inner?.length === 1 ? readExtensions(der, inner[0]!) : undefined;
  if (!exts) return 'bad crlExtensions';
  let crlNumber: bigint | undefined;
  for (const [id, x] of exts) {
    if (id === CRL_EXTENSIONS.cRLNumber) {
      const v = der.subarray(x.value.start, x.value.end);
      const n = readWhole(v, Tag.INTEGER);
      if (!n || n.end - n.start > 21) return 'bad cRLNumber';
      crlNumber = BigInt(`0x${Buffer.from(v.subarray(n.start, n.end)).toString('hex') || '0'}`);
    } else if (x.critical && !Object.values(CRL_EXTENSIONS).includes(id as never)) {
      // §5.2: a critical extension we cannot process (a delta CRL indicator, an issuing distribution
      // point with scopes) means this CRL must not be used to decide anything.
      return `unknown critical CRL extension ${id}`;
    }
  }
  return crlNumber === undefined ? {} : { crlNumber };
}

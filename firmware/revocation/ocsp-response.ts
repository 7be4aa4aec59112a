import { algorithmOid, bitStringBytes, contents, ctx, element, oidText, readChildren, readExtensions, readTime, readWhole, serialHex, smallInt, Tag, type Tlv } from './der-read.ts';
import { OCSP_OID, type CertId } from './ocsp-request.ts';

/**
 *   OCSPResponse ::= SEQUENCE {                               -- RFC 6960 §4.2.1
 *      responseStatus         OCSPResponseStatus,             -- ENUMERATED: 0 successful, 1 malformedRequest,
 *      responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }  -- 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized
 *   ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }
 *
 *   BasicOCSPResponse ::= SEQUENCE {
 *      tbsResponseData      ResponseData,
 *      signatureAlgorithm   AlgorithmIdentifier,
 *      signature            BIT STRING,
 *      certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData ::= SEQUENCE {
 *      version              [0] EXPLICIT Version DEFAULT v1,
 *      responderID              ResponderID,                  -- byName [1] Name | byKey [2] KeyHash
 *      producedAt               GeneralizedTime,
 *      responses                SEQUENCE OF SingleResponse,
 *      responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
 *   SingleResponse ::= SEQUENCE {
 *      certID                       CertID,
 *      certStatus                   CertStatus,               -- good [0] IMPLICIT NULL | revoked [1] IMPLICIT
 *      thisUpdate                   GeneralizedTime,          -- RevokedInfo | unknown [2] IMPLICIT NULL
 *      nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
 *      singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
 *   RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 */
export interface SingleResponse {
  readonly certId: CertId & { readonly hashAlgorithm: string };
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly revokedAt?: Date;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
}

export interface BasicOcspResponse {
  /** The ResponseData as sent: what the signature covers. */
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly responderId: { readonly byName: Uint8Array } | { readonly byKey: Uint8Array };
  readonly producedAt: Date;
  readonly responses: readonly SingleResponse[];
  /** The nonce extension's extnValue, when the responder echoed one. */
  readonly nonce?: Uint8Array;
  /** Certificates the responder included (a delegated responder's own, §4.2.2.2). */
  readonly certs: readonly Uint8Array[];
}

export type OcspDecoded =
  | { readonly ok: true; readonly responseStatus: number; readonly basic?: BasicOcspResponse }
  | { readonly ok: false; readonly reason: string };

const fail = (reason: string): OcspDecoded => ({ ok: false, reason });

export function decodeOcspResponse(der: Uint8Array): OcspDecoded {
  const outer = readWhole(der, Tag.SEQUENCE);
  const top = outer && readChildren(der, outer);
  const status = top?.[0] && top[0].tag === Tag.ENUMERATED ? smallInt(der, top[0]) : undefined;
  if (!top || top.length > 2 || status === undefined) return fail('not an OCSPResponse');
  if (status !== 0) return top.length === 1 ? { ok: true, responseStatus: status } : fail('responseBytes on an unsuccessful response');
  const wrapper = top[1]?.tag === ctx(0) ? readChildren(der, top[1]) : undefined;
  const rb = wrapper?.length === 1 && wrapper[0]!.tag === Tag.SEQUENCE ? readChildren(der, wrapper[0]!) : undefined;
  if (!rb || rb.length !== 2 || rb[1]!.tag !== Tag.OCTET_STRING) return fail('bad responseBytes');
  if (oidText(der, rb[0]!) !== OCSP_OID.basic) return fail('not a basic OCSP response');
  const basic = decodeBasic(contents(der, rb[1]!));
  return typeof basic === 'string' ? fail(basic) : { ok: true, responseStatus: 0, basic };
}

function decodeBasic(b: Uint8Array): BasicOcspResponse | string {
  const outer = readWhole(b, Tag.SEQUENCE);
  const top = outer && readChildren(b, outer);
  if (!top || top.length < 3 || top.length > 4) return 'bad BasicOCSPResponse';
  const signatureAlgorithm = algorithmOid(b, top[1]!);
  const signature = bitStringBytes(b, top[2]!);
  if (!signatureAlgorithm || !signature) return 'bad signature';
  let certs: Uint8Array[] = [];
  if (top[3]) {
    const inner = top[3].tag === ctx(0) ? readChildren(b, top[3]) : undefined;
    const list = inner?.length === 1 && inner[0]!.tag === Tag.SEQUENCE ? readChildren(b, inner[0]!) : undefined;
    if (!list || list.some((c) => c.tag !== Tag.SEQUENCE)) return 'bad certs';
    certs = list.map((c) => element(b, c));
  }
  const data = top[0]!.tag === Tag.SEQUENCE ? readChildren(b, top[0]!) : undefined;
  if (!data) return 'bad ResponseData';
  let i = 0;
  if (data[0]?.tag === ctx(0)) {
    const v = readChildren(b, data[0]);
    if (v?.length !== 1 || smallInt(b, v[0]!) !== 0) return 'unknown ResponseData version';
    i++;
  }
  const responderId = readResponderId(b, data[i]);
  const producedAt = data[i + 1]?.tag === Tag.GENERALIZED_TIME ? readTime(b, data[i + 1]!) : undefined;
  const list = data[i + 2]?.tag === Tag.SEQUENCE ? readChildren(b, data[i + 2]!) : undefined;
  if (!responderId || !producedAt || !list) return 'bad responderID, producedAt or responses';
  const responses: SingleResponse[] = [];
  for (const r of list) {
    const single = readSingle(b, r);
    if (!single) return 'bad SingleResponse';
    responses.push(single);
  }
  let nonce: Uint8Array | undefined;
  if (data[i + 3]) {
    const inner = data[i + 3]!.tag === ctx(1) ? readChildren(b, data[i + 3]!) : undefined;
    const exts = inner?.length === 1 ? readExtensions(b, inner[0]!) : undefined;
    if (!exts) return 'bad responseExtensions';
    const n = exts.get(OCSP_OID.nonce);
    if (n) nonce = contents(b, n.value);
  }
  if (data.length > i + 4) return 'unexpected fields in ResponseData';
  return { tbs: element(b, top[0]!), signatureAlgorithm, signature, responderId, producedAt, responses, ...(nonce ? { nonce } : {}), certs };
}

function readResponderId(b: Uint8Array, t: Tlv | undefined): BasicOcspResponse['responderId'] | undefined {
  const inner = t && (t.tag === ctx(1) || t.tag === ctx(2)) ? readChildren(b, t) : undefined;
  if (inner?.length !== 1) return undefined;
  if (t!.tag === ctx(1)) return inner[0]!.tag === Tag.SEQUENCE ? { byName: element(b, inner[0]!) } : undefined;
  return inner[0]!.tag === Tag.OCTET_STRING ? { byKey: contents(b, inner[0]!) } : undefined;
}

function readSingle(b: Uint8Array, t: Tlv): SingleResponse | undefined {
  const f = t.tag === Tag.SEQUENCE ? readChildren(b, t) : undefined;
  if (!f || f.length < 3 || f.length > 5) return undefined;
  const id = f[0]!.tag === Tag.SEQUENCE ? readChildren(b, f[0]!) : undefined;
  const hashAlgorithm = id?.[0] && algorithmOid(b, id[0]);
  const serial = id?.[3] && serialHex(b, id[3]);
  if (!id || id.length !== 4 || !hashAlgorithm || !serial || id[1]!.tag !== Tag.OCTET_STRING || id[2]!.tag !== Tag.OCTET_STRING) return undefined;
  const certId = { hashAlgorithm, issuerNameHash: contents(b, id[1]!), issuerKeyHash: contents(b, id[2]!), serialHex: serial };
  const s = f[1]!;
  let status: SingleResponse['status'];
  let revokedAt: Date | undefined;
  if (s.tag === ctx(0, false) && s.end === s.start) status = 'good';
  else if (s.tag === ctx(2, false) && s.end === s.start) status = 'unknown';
  else if (s.tag === ctx(1)) {
    const info = readChildren(b, s);
    revokedAt = info?.[0]?.tag === Tag.GENERALIZED_TIME ? readTime(b, info[0]) : undefined;
    if (!revokedAt || info!.length > 2) return undefined;
    status = 'revoked';
  } else return undefined;
  const thisUpdate = f[2]!.tag === Tag.GENERALIZED_TIME ? readTime(b, f[2]!) : undefined;
  if (!thisUpdate) return undefined;
  let nextUpdate: Date | undefined;
  for (const extra of f.slice(3)) {
    if (extra.tag === ctx(0) && nextUpdate === undefined) {
      const inner = readChildren(b, extra);
      nextUpdate = inner?.length === 1 && inner[0]!.tag === Tag.GENERALIZED_TIME ? readTime(b, inner[0]!) : undefined;
      if (!nextUpdate) return undefined;
    } else if (extra.tag !== ctx(1)) return undefined;
  }
  return { certId, status, ...(revokedAt ? { revokedAt } : {}), thisUpdate, ...(nextUpdate ? { nextUpdate } : {}) };
}

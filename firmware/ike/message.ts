import { PayloadType } from './registry/numbers.ts';
import { decodeChain, encodeChain, type RawPayload } from './payloads/chain.ts';
import { decodeIkeHeader, encodeIkeHeader, IKE_HEADER_LENGTH, type IkeHeader } from './payloads/header.ts';
import { fail, ok, type Decoded } from './payloads/result.ts';
import { decodeSa, encodeSa, type Proposal } from './payloads/sa.ts';
import { decodeAuth, encodeAuth, type AuthPayload } from './payloads/auth.ts';
import { decodeCert, decodeCertReq, encodeCert, encodeCertReq, type CertPayload, type CertReqPayload } from './payloads/certificate.ts';
import { decodeEap, encodeEap, type EapPacket } from '../auth/eap/eap-packet.ts';
import { decodeConfig, encodeConfig, type ConfigPayload } from './payloads/config.ts';
import { decodeDelete, encodeDelete, type DeletePayload } from './payloads/delete.ts';
import { decodeId, encodeId, type IdPayload } from './payloads/identity.ts';
import { decodeTs, encodeTs, type TrafficSelectorEntry } from './payloads/traffic-selector.ts';
import { decodeKe, decodeNonce, decodeNotify, encodeKe, encodeNotify, type KePayload, type NotifyPayload } from './payloads/simple.ts';

/** The payloads interpreted so far; the rest travel as `raw` (their decoders come with the exchanges). */
export type IkePayload =
  | { readonly kind: 'SA'; readonly proposals: readonly Proposal[] }
  | { readonly kind: 'KE'; readonly ke: KePayload }
  | { readonly kind: 'Nonce'; readonly nonce: Uint8Array }
  | { readonly kind: 'N'; readonly notify: NotifyPayload }
  | { readonly kind: 'V'; readonly vendorId: Uint8Array }
  | { readonly kind: 'IDi'; readonly id: IdPayload }
  | { readonly kind: 'IDr'; readonly id: IdPayload }
  | { readonly kind: 'AUTH'; readonly auth: AuthPayload }
  | { readonly kind: 'TSi'; readonly selectors: readonly TrafficSelectorEntry[] }
  | { readonly kind: 'TSr'; readonly selectors: readonly TrafficSelectorEntry[] }
  | { readonly kind: 'CP'; readonly config: ConfigPayload }
  | { readonly kind: 'D'; readonly delete: DeletePayload }
  | { readonly kind: 'EAP'; readonly eap: EapPacket }
  | { readonly kind: 'CERT'; readonly cert: CertPayload }
  | { readonly kind: 'CERTREQ'; readonly certreq: CertReqPayload }
  /** Encrypted (SK) or fragment (SKF): opaque until decrypted; `inner` names the first payload inside. */
  | { readonly kind: 'encrypted'; readonly type: number; readonly inner: number; readonly body: Uint8Array }
  | { readonly kind: 'raw'; readonly type: number; readonly critical: boolean; readonly body: Uint8Array };

export interface IkeMessage {
  readonly header: IkeHeader;
  readonly payloads: readonly IkePayload[];
}

function interpret(p: RawPayload, next: number): Decoded<IkePayload> {
  const at = <T>(r: Decoded<T>): Decoded<T> => (r.ok ? r : fail(r.error.code, r.error.message, p.offset + 4 + r.error.offset));
  switch (p.type) {
    case PayloadType.SA: {
      const r = at(decodeSa(p.body));
      return r.ok ? ok({ kind: 'SA', proposals: r.value }) : r;
    }
    case PayloadType.KE: {
      const r = at(decodeKe(p.body));
      return r.ok ? ok({ kind: 'KE', ke: r.value }) : r;
    }
    case PayloadType.Ni: {
      const r = at(decodeNonce(p.body));
      return r.ok ? ok({ kind: 'Nonce', nonce: r.value }) : r;
    }
    case PayloadType.N: {
      const r = at(decodeNotify(p.body));
      return r.ok ? ok({ kind: 'N', notify: r.value }) : r;
    }
    case PayloadType.V:
      return ok({ kind: 'V', vendorId: p.body.slice() });
    case PayloadType.IDi:
    case PayloadType.IDr: {
      const r = at(decodeId(p.body));
      return r.ok ? ok(p.type === PayloadType.IDi ? { kind: 'IDi', id: r.value } : { kind: 'IDr', id: r.value }) : r;
    }
    case PayloadType.AUTH: {
      const r = at(decodeAuth(p.body));
      return r.ok ? ok({ kind: 'AUTH', auth: r.value }) : r;
    }
    case PayloadType.TSi:
    case PayloadType.TSr: {
      const r = at(decodeTs(p.body));
      return r.ok ? ok(p.type === PayloadType.TSi ? { kind: 'TSi', selectors: r.value } : { kind: 'TSr', selectors: r.value }) : r;
    }
    case PayloadType.CP: {
      const r = at(decodeConfig(p.body));
      return r.ok ? ok({ kind: 'CP', config: r.value }) : r;
    }
    case PayloadType.D: {
      const r = at(decodeDelete(p.body));
      return r.ok ? ok({ kind: 'D', delete: r.value }) : r;
    }
    case PayloadType.EAP: {
      const r = at(decodeEap(p.body));
      return r.ok ? ok({ kind: 'EAP', eap: r.value }) : r;
    }
    case PayloadType.CERT: {
      const r = at(decodeCert(p.body));
      return r.ok ? ok({ kind: 'CERT', cert: r.value }) : r;
    }
    case PayloadType.CERTREQ: {
      const r = at(decodeCertReq(p.body));
      return r.ok ? ok({ kind: 'CERTREQ', certreq: r.value }) : r;
    }
    case PayloadType.SK:
    case PayloadType.SKF:
      return ok({ kind: 'encrypted', type: p.type, inner: next, body: p.body.slice() });
    default:
      if (!KNOWN_TYPES.has(p.type) && p.critical) return fail('UNSUPPORTED_CRITICAL_PAYLOAD', `critical payload type ${p.type}`, p.offset);
      return ok({ kind: 'raw', type: p.type, critical: p.critical, body: p.body.slice() });
  }
}

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(PayloadType));

/** Interprets a chain of payloads starting at `start` (a message's, or the inside of an SK payload). */
export function decodePayloads(bytes: Uint8Array, start: number, first: number): Decoded<IkePayload[]> {
  const chain = decodeChain(bytes, start, first);
  if (!chain.ok) return chain;
  const payloads: IkePayload[] = [];
  for (const raw of chain.value) {
    // An encrypted payload's Next Payload field names the first payload inside it.
    const next = raw.type === PayloadType.SK || raw.type === PayloadType.SKF ? (bytes[raw.offset] as number) : 0;
    const r = interpret(raw, next);
    if (!r.ok) return r;
    payloads.push(r.value);
  }
  return ok(payloads);
}

/** Decodes a whole IKE message; never throws. RFC 7296 §2.5: unknown non-critical payloads are kept as raw. */
export function decodeIkeMessage(bytes: Uint8Array): Decoded<IkeMessage> {
  const header = decodeIkeHeader(bytes);
  if (!header.ok) return header;
  const payloads = decodePayloads(bytes.subarray(0, header.value.length), IKE_HEADER_LENGTH, header.value.nextPayload);
  return payloads.ok ? ok({ header: header.value, payloads: payloads.value }) : payloads;
}

function bodyOf(p: IkePayload): { type: number; critical?: boolean; body: Uint8Array } {
  switch (p.kind) {
    case 'SA': return { type: PayloadType.SA, body: encodeSa(p.proposals) };
    case 'KE': return { type: PayloadType.KE, body: encodeKe(p.ke) };
    case 'Nonce': return { type: PayloadType.Ni, body: p.nonce };
    case 'N': return { type: PayloadType.N, body: encodeNotify(p.notify) };
    case 'V': return { type: PayloadType.V, body: p.vendorId };
    case 'IDi': return { type: PayloadType.IDi, body: encodeId(p.id) };
    case 'IDr': return { type: PayloadType.IDr, body: encodeId(p.id) };
    case 'AUTH': return { type: PayloadType.AUTH, body: encodeAuth(p.auth) };
    case 'TSi': return { type: PayloadType.TSi, body: encodeTs(p.selectors) };
    case 'TSr': return { type: PayloadType.TSr, body: encodeTs(p.selectors) };
    case 'CP': return { type: PayloadType.CP, body: encodeConfig(p.config) };
    case 'D': return { type: PayloadType.D, body: encodeDelete(p.delete) };
    case 'EAP': return { type: PayloadType.EAP, body: encodeEap(p.eap) };
    case 'CERT': return { type: PayloadType.CERT, body: encodeCert(p.cert) };
    case 'CERTREQ': return { type: PayloadType.CERTREQ, body: encodeCertReq(p.certreq) };
    case 'encrypted': return { type: p.type, body: p.body };
    case 'raw': return { type: p.type, critical: p.critical, body: p.body };
  }
}

/** Encodes a chain of payloads (for the inside of an SK payload); `first` is the first one's type. */
export function encodePayloads(payloads: readonly IkePayload[]): { bytes: Uint8Array; first: number } {
  const bodies = payloads.map(bodyOf);
  return { bytes: encodeChain(bodies), first: bodies[0]?.type ?? 0 };
}

/** Encodes a message: the header's Next Payload and Length are computed. */
export function encodeIkeMessage(header: Omit<IkeHeader, 'nextPayload' | 'length' | 'majorVersion' | 'minorVersion'>, payloads: readonly IkePayload[]): Uint8Array {
  const bodies = payloads.map(bodyOf);
  const last = payloads.at(-1);
  const chain = encodeChain(bodies, last?.kind === 'encrypted' ? last.inner : 0);
  const head = encodeIkeHeader({ ...header, nextPayload: bodies[0]?.type ?? 0, length: IKE_HEADER_LENGTH + chain.length });
  const out = new Uint8Array(head.length + chain.length);
  out.set(head);
  out.set(chain, head.length);
  return out;
}

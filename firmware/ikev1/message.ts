/*
 * An ISAKMP message (RFC 2408 §3.1, §3.2): the header, then a chain of payloads, each starting
 * with the generic payload header:
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !         Payload Length        !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * With the E flag, everything after the header is ciphertext (RFC 2409 Appendix B); once
 * decrypted it is the same chain followed by padding, which the chain's end (next payload 0) skips.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { PayloadType } from './registry.ts';
import { decodeIsakmpHeader, encodeIsakmpHeader, ISAKMP_HEADER_LENGTH, type IsakmpHeader, type IsakmpHeaderFields } from './payloads/header.ts';
import { decodeSa, encodeSa, type SaPayload } from './payloads/sa.ts';
import { decodeIdentification, encodeIdentification, type Identification } from './payloads/identification.ts';
import { decodeNotification, encodeNotification, type Notification } from './payloads/notification.ts';
import { decodeDelete, encodeDelete, type DeletePayload } from './payloads/delete.ts';
import { decodeCertificate, decodeCertificateRequest, encodeCertificate, encodeCertificateRequest, type CertificatePayload, type CertificateRequest } from './payloads/certificate.ts';
import { decodeNatOa, encodeNatOa, type NatOriginalAddress } from './payloads/nat-oa.ts';

/** Payloads whose body is opaque bytes (a public value, a hash, a signature, a nonce, a vendor ID). */
export type OpaqueKind = 'KE' | 'HASH' | 'SIG' | 'NONCE' | 'VID';

export type Ikev1Payload =
  | { readonly kind: 'SA'; readonly sa: SaPayload }
  | { readonly kind: OpaqueKind; readonly data: Uint8Array }
  | { readonly kind: 'ID'; readonly id: Identification }
  | { readonly kind: 'CERT'; readonly cert: CertificatePayload }
  | { readonly kind: 'CR'; readonly request: CertificateRequest }
  | { readonly kind: 'N'; readonly notification: Notification }
  | { readonly kind: 'D'; readonly delete: DeletePayload }
  /** `draft`: the pre-RFC payload numbers 130/131 (draft-ietf-ipsec-nat-t-ike-02/03). */
  | { readonly kind: 'NAT-D'; readonly data: Uint8Array; readonly draft?: boolean }
  | { readonly kind: 'NAT-OA'; readonly natOa: NatOriginalAddress; readonly draft?: boolean }
  | { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array };

/** A received payload with its body as it arrived (the *_b values the hashes cover). */
export type ReceivedPayload = Ikev1Payload & { readonly body: Uint8Array };

const OPAQUE: Record<number, OpaqueKind> = { [PayloadType.KE]: 'KE', [PayloadType.HASH]: 'HASH', [PayloadType.SIG]: 'SIG', [PayloadType.NONCE]: 'NONCE', [PayloadType.VID]: 'VID' };

export function payloadType(p: Ikev1Payload): number {
  switch (p.kind) {
    case 'SA': return PayloadType.SA;
    case 'KE': return PayloadType.KE;
    case 'ID': return PayloadType.ID;
    case 'CERT': return PayloadType.CERT;
    case 'CR': return PayloadType.CR;
    case 'HASH': return PayloadType.HASH;
    case 'SIG': return PayloadType.SIG;
    case 'NONCE': return PayloadType.NONCE;
    case 'N': return PayloadType.N;
    case 'D': return PayloadType.D;
    case 'VID': return PayloadType.VID;
    case 'NAT-D': return p.draft ? PayloadType.NAT_D_DRAFT : PayloadType.NAT_D;
    case 'NAT-OA': return p.draft ? PayloadType.NAT_OA_DRAFT : PayloadType.NAT_OA;
    case 'unknown': return p.type;
  }
}

export function encodePayloadBody(p: Ikev1Payload): Uint8Array {
  switch (p.kind) {
    case 'SA': return encodeSa(p.sa);
    case 'ID': return encodeIdentification(p.id);
    case 'CERT': return encodeCertificate(p.cert);
    case 'CR': return encodeCertificateRequest(p.request);
    case 'N': return encodeNotification(p.notification);
    case 'D': return encodeDelete(p.delete);
    case 'NAT-OA': return encodeNatOa(p.natOa);
    default: return p.data;
  }
}

/** Interprets one body by its type; the generic header was already checked. */
function interpret(type: number, body: Uint8Array, base: number): Decoded<Ikev1Payload> {
  const opaque = OPAQUE[type];
  if (opaque) return ok({ kind: opaque, data: body });
  const wrap = <T, P extends Ikev1Payload>(r: Decoded<T>, make: (v: T) => P): Decoded<Ikev1Payload> => (r.ok ? ok(make(r.value)) : r);
  switch (type) {
    case PayloadType.SA: return wrap(decodeSa(body, base), (sa) => ({ kind: 'SA', sa }));
    case PayloadType.ID: return wrap(decodeIdentification(body, base), (id) => ({ kind: 'ID', id }));
    case PayloadType.CERT: return wrap(decodeCertificate(body, base), (cert) => ({ kind: 'CERT', cert }));
    case PayloadType.CR: return wrap(decodeCertificateRequest(body, base), (request) => ({ kind: 'CR', request }));
    case PayloadType.N: return wrap(decodeNotification(body, base), (notification) => ({ kind: 'N', notification }));
    case PayloadType.D: return wrap(decodeDelete(body, base), (d) => ({ kind: 'D', delete: d }));
    case PayloadType.NAT_D: return ok({ kind: 'NAT-D', data: body });
    case PayloadType.NAT_D_DRAFT: return ok({ kind: 'NAT-D', data: body, draft: true });
    case PayloadType.NAT_OA: return wrap(decodeNatOa(body, base), (natOa) => ({ kind: 'NAT-OA', natOa }));
    case PayloadType.NAT_OA_DRAFT: return wrap(decodeNatOa(body, base), (natOa) => ({ kind: 'NAT-OA', natOa, draft: true }));
    case PayloadType.P:
    case PayloadType.T:
      return fail('INVALID_SYNTAX', `payload type ${type} outside an SA payload`, base);
    default: return ok({ kind: 'unknown', type, data: body });
  }
}

/**
 * Walks the chain from `first`. Every generic header's length is checked against the bytes left
 * before its body is read. `trailing` allows bytes after the chain's end (a decrypted message's
 * padding, RFC 2409 Appendix B); otherwise they are an error.
 */
export function decodePayloads(first: number, bytes: Uint8Array, base = ISAKMP_HEADER_LENGTH, trailing = false): Decoded<ReceivedPayload[]> {
  const out: ReceivedPayload[] = [];
  let type = first;
  let at = 0;
  while (type !== PayloadType.NONE) {
    if (bytes.length - at < 4) return fail('TRUNCATED', `payload type ${type} needs a 4-byte header, ${bytes.length - at} left`, base + at);
    const length = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
    if (length < 4 || length > bytes.length - at) return fail('INVALID_SYNTAX', `payload type ${type} length ${length} with ${bytes.length - at} bytes left`, base + at + 2);
    const body = bytes.slice(at + 4, at + length);
    const payload = interpret(type, body, base + at + 4);
    if (!payload.ok) return payload;
    out.push({ ...payload.value, body });
    type = bytes[at] as number;
    at += length;
  }
  if (!trailing && at !== bytes.length) return fail('INVALID_SYNTAX', `${bytes.length - at} bytes after the last payload`, base + at);
  return ok(out);
}

/** The chain's bytes and the first payload's type, for the header's Next Payload. */
export function encodePayloads(payloads: readonly Ikev1Payload[]): { readonly first: number; readonly bytes: Uint8Array } {
  const parts = payloads.map((p, i) => {
    const body = encodePayloadBody(p);
    const b = Buffer.alloc(4 + body.length);
    const next = payloads[i + 1];
    b[0] = next ? payloadType(next) : PayloadType.NONE;
    b.writeUInt16BE(b.length, 2);
    b.set(body, 4);
    return b;
  });
  const firstPayload = payloads[0];
  return { first: firstPayload ? payloadType(firstPayload) : PayloadType.NONE, bytes: Buffer.concat(parts) };
}

export type IsakmpMessage =
  | { readonly header: IsakmpHeader; readonly encrypted: false; readonly payloads: readonly ReceivedPayload[]; readonly raw: Uint8Array }
  /** The ciphertext is everything after the header up to the header's length. */
  | { readonly header: IsakmpHeader; readonly encrypted: true; readonly ciphertext: Uint8Array; readonly raw: Uint8Array };

/** Decodes a datagram; bytes past the header's length are ignored (§5.1 checks the length, not the datagram). */
export function decodeIsakmpMessage(bytes: Uint8Array): Decoded<IsakmpMessage> {
  const h = decodeIsakmpHeader(bytes);
  if (!h.ok) return h;
  const header = h.value;
  const raw = bytes.subarray(0, header.length);
  const rest = raw.subarray(ISAKMP_HEADER_LENGTH);
  if (header.encryption) return ok({ header, encrypted: true, ciphertext: rest, raw });
  const payloads = decodePayloads(header.nextPayload, rest);
  if (!payloads.ok) return payloads;
  return ok({ header, encrypted: false, payloads: payloads.value, raw });
}

/** An unencrypted message: the header's next payload and length are filled in. */
export function encodeIsakmpMessage(header: Omit<IsakmpHeaderFields, 'nextPayload' | 'length' | 'encryption'>, payloads: readonly Ikev1Payload[]): Uint8Array {
  const { first, bytes } = encodePayloads(payloads);
  const head = encodeIsakmpHeader({ ...header, encryption: false, nextPayload: first, length: ISAKMP_HEADER_LENGTH + bytes.length });
  return Buffer.concat([head, bytes]);
}

/*
 * GRE header, version 0 (RFC 2784, with RFC 2890's key and sequence number):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C| |K|S| Reserved0       | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (optional)      |       Reserved1 (Optional)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Key (optional)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Sequence Number (Optional)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The same rules as the driver's drivers/lib/gre.c: routing (RFC 1701's R bit) and reserved bits
 * refused, the checksum (RFC 1071 over header and payload) checked when present. Pure, never throws
 * on input.
 */

export const GRE_PROTOCOL = { ipv4: 0x0800, ipv6: 0x86dd, keepalive: 0x0000 } as const;

export interface GreHeader {
  readonly protocolType: number;
  /** Present: the C bit is (or is to be) set; the value is filled in when encoding. */
  readonly checksum?: boolean;
  readonly key?: number;
  readonly sequenceNumber?: number;
}

export type GreDecodeResult =
  | { readonly ok: true; readonly header: GreHeader; readonly payload: Uint8Array }
  | { readonly ok: false; readonly error: 'short' | 'version' | 'reserved' | 'checksum' };

const C = 0x8000;
const K = 0x2000;
const S = 0x1000;
/** Bit 1 (R, RFC 1701 routing) and bits 4-12 must be zero in RFC 2784. */
const RESERVED0 = 0x4000 | 0x0ff8;

/** RFC 1071 one's-complement sum, folded; 0 over data that carries a correct checksum. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length % 2) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function greHeaderLength(h: GreHeader): number {
  return 4 + (h.checksum ? 4 : 0) + (h.key !== undefined ? 4 : 0) + (h.sequenceNumber !== undefined ? 4 : 0);
}

export function decodeGreHeader(packet: Uint8Array): GreDecodeResult {
  if (packet.length < 4) return { ok: false, error: 'short' };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const flags = view.getUint16(0);
  if ((flags & 7) !== 0) return { ok: false, error: 'version' };
  if (flags & RESERVED0) return { ok: false, error: 'reserved' };
  const hasC = (flags & C) !== 0;
  const hasK = (flags & K) !== 0;
  const hasS = (flags & S) !== 0;
  const length = 4 + (hasC ? 4 : 0) + (hasK ? 4 : 0) + (hasS ? 4 : 0);
  if (packet.length < length) return { ok: false, error: 'short' };
  if (hasC && internetChecksum(packet) !== 0) return { ok: false, error: 'checksum' };
  let at = hasC ? 8 : 4;
  const key = hasK ? view.getUint32(at) : undefined;
  if (hasK) at += 4;
  const sequenceNumber = hasS ? view.getUint32(at) : undefined;
  const header: GreHeader = {
    protocolType: view.getUint16(2),
    ...(hasC ? { checksum: true } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
  };
  return { ok: true, header, payload: packet.subarray(length) };
}

/** Header and payload; the checksum, when asked for, covers both (RFC 2784 §2.5). */
export function encodeGrePacket(h: GreHeader, payload: Uint8Array): Uint8Array {
  const length = greHeaderLength(h);
  const out = new Uint8Array(length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, (h.checksum ? C : 0) | (h.key !== undefined ? K : 0) | (h.sequenceNumber !== undefined ? S : 0));
  view.setUint16(2, h.protocolType & 0xffff);
  let at = h.checksum ? 8 : 4;
  if (h.key !== undefined) { view.setUint32(at, h.key >>> 0); at += 4; }
  if (h.sequenceNumber !== undefined) view.setUint32(at, h.sequenceNumber >>> 0);
  out.set(payload, length);
  if (h.checksum) view.setUint16(4, internetChecksum(out));
  return out;
}

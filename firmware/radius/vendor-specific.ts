/*
 * Vendor-Specific (RFC 2865 §5.26), in the recommended format with one-byte sub-attributes:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type=26   |  Length       |            Vendor-Id
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      Vendor-Id (cont)           |  Vendor type  | Vendor length |  Value ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Vendor length counts its two-byte header. One Vendor-Specific may carry several sub-attributes.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { Attr } from './attributes.ts';
import type { RadiusAttribute } from './packet.ts';

export interface VendorAttribute {
  readonly vendorId: number;
  readonly vendorType: number;
  readonly value: Uint8Array;
}

export function encodeVendorAttribute(vendorId: number, vendorType: number, value: Uint8Array): RadiusAttribute {
  if (value.length > 247) throw new RangeError(`vendor attribute ${vendorId}:${vendorType} is ${value.length} bytes, over 247`);
  const out = new Uint8Array(6 + value.length);
  new DataView(out.buffer).setUint32(0, vendorId);
  out[4] = vendorType;
  out[5] = value.length + 2;
  out.set(value, 6);
  return { type: Attr.VendorSpecific, value: out };
}

/** The sub-attributes of one Vendor-Specific value, each length checked against the bytes left. */
export function decodeVendorSpecific(value: Uint8Array): Decoded<VendorAttribute[]> {
  if (value.length < 4) return fail('TRUNCATED', `Vendor-Specific of ${value.length} bytes has no Vendor-Id`, 0);
  const vendorId = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
  const out: VendorAttribute[] = [];
  for (let at = 4; at < value.length;) {
    if (value.length - at < 2) return fail('TRUNCATED', 'vendor sub-attribute needs 2 bytes', at);
    const length = value[at + 1] ?? 0;
    if (length < 2 || at + length > value.length) return fail('INVALID_SYNTAX', `vendor length ${length} does not fit`, at);
    out.push({ vendorId, vendorType: value[at] ?? 0, value: value.subarray(at + 2, at + length) });
    at += length;
  }
  return ok(out);
}

/**
 * Every well-formed vendor sub-attribute of a packet, in order. A malformed Vendor-Specific is
 * skipped (RFC 2865 §5.26: a vendor's attributes that cannot be read are ignored), and counted
 * by the caller through `malformed`.
 */
export function vendorAttributes(attributes: readonly RadiusAttribute[]): { attributes: VendorAttribute[]; malformed: number } {
  const out: VendorAttribute[] = [];
  let malformed = 0;
  for (const a of attributes) {
    if (a.type !== Attr.VendorSpecific) continue;
    const d = decodeVendorSpecific(a.value);
    if (d.ok) out.push(...d.value);
    else malformed++;
  }
  return { attributes: out, malformed };
}

/*
 * Data attributes (RFC 2408 §3.3), used by Transform payloads:
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !A!       Attribute Type        !    AF=0  Attribute Length     !
 * !F!                             !    AF=1  Attribute Value      !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * .                   AF=0  Attribute Value                       .
 * .                   AF=1  Not Transmitted                       .
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * AF=1 is the basic form (TV, a 16-bit value), AF=0 the variable form (TLV).
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export type DataAttribute =
  | { readonly type: number; readonly basic: true; readonly value: number }
  | { readonly type: number; readonly basic: false; readonly value: Uint8Array };

/** Decodes the attributes filling `bytes`; `base` is their offset in the message, for errors. */
export function decodeAttributes(bytes: Uint8Array, base = 0): Decoded<DataAttribute[]> {
  const out: DataAttribute[] = [];
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4) return fail('INVALID_SYNTAX', `an attribute needs 4 bytes, ${bytes.length - at} left`, base + at);
    const word = v.getUint16(at);
    const type = word & 0x7fff;
    if (word & 0x8000) {
      out.push({ type, basic: true, value: v.getUint16(at + 2) });
      at += 4;
      continue;
    }
    const length = v.getUint16(at + 2);
    if (length > bytes.length - at - 4) return fail('INVALID_SYNTAX', `attribute ${type} declares ${length} bytes, ${bytes.length - at - 4} left`, base + at + 2);
    out.push({ type, basic: false, value: bytes.slice(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return ok(out);
}

export function encodeAttributes(attributes: readonly DataAttribute[]): Uint8Array {
  const parts = attributes.map((a) => {
    if (a.basic) {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(0x8000 | (a.type & 0x7fff), 0);
      b.writeUInt16BE(a.value & 0xffff, 2);
      return b;
    }
    const b = Buffer.alloc(4 + a.value.length);
    b.writeUInt16BE(a.type & 0x7fff, 0);
    b.writeUInt16BE(a.value.length, 2);
    b.set(a.value, 4);
    return b;
  });
  return Buffer.concat(parts);
}

/** A basic attribute, or a variable one of at most 4 bytes read as a number (life durations may be either). */
export function attributeNumber(a: DataAttribute): number | undefined {
  if (a.basic) return a.value;
  if (a.value.length === 0 || a.value.length > 4) return undefined;
  let n = 0;
  for (const byte of a.value) n = n * 256 + byte;
  return n;
}

/** The shortest form for a number: basic when it fits 16 bits (life durations, RFC 2409 Appendix A allows both). */
export function numberAttribute(type: number, value: number): DataAttribute {
  if (value >= 0 && value <= 0xffff) return { type, basic: true, value };
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return { type, basic: false, value: b };
}

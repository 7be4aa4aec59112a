/*
 * The L2TP Attribute Value Pair (RFC 2661 §4.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |M|H| rsvd  |      Length       |           Vendor ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Attribute Type        |        Attribute Value...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Length (10 bits) counts the 6-byte header. M: an unrecognised AVP with M set ends the session or
 * tunnel it came in. H: the value is hidden (§4.3) with the tunnel secret and the Random Vector AVP
 * last seen before it in the same message:
 *
 *   hidden subformat  | Original Length (2) | Original Attribute Value ... | Padding ... |
 *   b(1) = MD5(Attribute Type (2 bytes) | secret | Random Vector)   c(1) = p(1) xor b(1)
 *   b(i) = MD5(secret | c(i-1))                                      c(i) = p(i) xor b(i)
 * on 16-byte blocks of the subformat, the last one possibly short.
 */
import { createHash } from 'node:crypto';
import { fail, ok, type Decoded } from '../util/decoded.ts';

export const AVP_HEADER_LENGTH = 6;
export const AVP_MAX_LENGTH = 0x3ff;
const M_BIT = 0x8000;
const H_BIT = 0x4000;
const RESERVED_BITS = 0x3c00;
const LENGTH_MASK = 0x03ff;

export interface RawAvp {
  readonly mandatory: boolean;
  readonly hidden: boolean;
  /** 0 for the IETF AVPs; any other vendor's AVPs are kept opaque. */
  readonly vendorId: number;
  readonly attributeType: number;
  /** As received: still hidden when `hidden` is set. */
  readonly value: Uint8Array;
  /** A reserved bit was set: §4.1 says treat the AVP as unrecognised. */
  readonly reservedBitsSet?: boolean;
  /** Offset of the AVP in the message, for error messages. */
  readonly offset?: number;
}

const u16 = (b: Uint8Array, at: number) => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0);

/** Splits a control message's payload into its AVPs, checking each Length against the bytes left. */
export function decodeAvps(bytes: Uint8Array): Decoded<RawAvp[]> {
  const avps: RawAvp[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < AVP_HEADER_LENGTH) return fail('TRUNCATED', `AVP header needs 6 bytes, ${bytes.length - at} left`, at);
    const word = u16(bytes, at);
    const length = word & LENGTH_MASK;
    if (length < AVP_HEADER_LENGTH) return fail('INVALID_SYNTAX', `AVP Length ${length} is shorter than its header`, at);
    if (at + length > bytes.length) return fail('TRUNCATED', `AVP Length ${length} runs past the message`, at);
    avps.push({
      mandatory: (word & M_BIT) !== 0,
      hidden: (word & H_BIT) !== 0,
      vendorId: u16(bytes, at + 2),
      attributeType: u16(bytes, at + 4),
      value: bytes.subarray(at + AVP_HEADER_LENGTH, at + length),
      ...((word & RESERVED_BITS) !== 0 ? { reservedBitsSet: true } : {}),
      offset: at,
    });
    at += length;
  }
  return ok(avps);
}

/** One AVP on the wire; `value` is already hidden when `hidden` is set. Throws only on a local bug. */
export function encodeAvp(avp: Pick<RawAvp, 'mandatory' | 'hidden' | 'vendorId' | 'attributeType' | 'value'>): Uint8Array {
  const length = AVP_HEADER_LENGTH + avp.value.length;
  if (length > AVP_MAX_LENGTH) throw new RangeError(`AVP ${avp.vendorId}:${avp.attributeType} is ${length} bytes, over the 1023 of its Length field`);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint16(0, (avp.mandatory ? M_BIT : 0) | (avp.hidden ? H_BIT : 0) | length);
  view.setUint16(2, avp.vendorId);
  view.setUint16(4, avp.attributeType);
  out.set(avp.value, AVP_HEADER_LENGTH);
  return out;
}

/** The §4.3 keystream applied in place: encrypting when `hiding`, decrypting otherwise (it chains on the ciphertext). */
function chain(attributeType: number, secret: Uint8Array, randomVector: Uint8Array, data: Uint8Array, hiding: boolean): Uint8Array {
  const out = new Uint8Array(data.length);
  let previous: Uint8Array | undefined;
  for (let at = 0; at < data.length; at += 16) {
    const md5 = createHash('md5');
    if (previous === undefined) md5.update(Uint8Array.of(attributeType >> 8, attributeType & 0xff)).update(secret).update(randomVector);
    else md5.update(secret).update(previous);
    const b = md5.digest();
    const end = Math.min(at + 16, data.length);
    for (let i = at; i < end; i++) out[i] = (data[i] ?? 0) ^ (b[i - at] ?? 0);
    previous = hiding ? out.subarray(at, end) : data.subarray(at, end);
  }
  return out;
}

/** Hides a value (§4.3); `padding` random bytes, passed in, may hide the value's length. */
export function hideAvpValue(attributeType: number, secret: Uint8Array, randomVector: Uint8Array, value: Uint8Array, padding: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (value.length > 0xffff) throw new RangeError('hidden AVP value over 65535 bytes');
  const plain = new Uint8Array(2 + value.length + padding.length);
  plain[0] = value.length >> 8;
  plain[1] = value.length & 0xff;
  plain.set(value, 2);
  plain.set(padding, 2 + value.length);
  return chain(attributeType, secret, randomVector, plain, true);
}

/** Reveals a hidden value (§4.3); a wrong secret shows as an Original Length past the data. */
export function unhideAvpValue(attributeType: number, secret: Uint8Array, randomVector: Uint8Array, hidden: Uint8Array): Decoded<Uint8Array> {
  if (hidden.length < 2) return fail('INVALID_SYNTAX', `hidden AVP ${attributeType} has ${hidden.length} bytes, under the 2 of Original Length`, 0);
  const plain = chain(attributeType, secret, randomVector, hidden, false);
  const length = u16(plain, 0);
  if (2 + length > plain.length) return fail('INVALID_SYNTAX', `hidden AVP ${attributeType}: Original Length ${length} is past its ${plain.length - 2} bytes (wrong tunnel secret?)`, 0);
  return ok(plain.subarray(2, 2 + length));
}

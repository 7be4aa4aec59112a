/**
 * EAP-Message (RFC 3579 §3.1): an EAP packet longer than 253 bytes is split over consecutive
 * EAP-Message attributes, which the receiver concatenates in order. A packet carrying EAP-Message
 * must carry Message-Authenticator too (§3.3), which `signRequest` always adds.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { Attr } from './attributes.ts';
import { ATTRIBUTE_MAX_VALUE, type RadiusAttribute } from './packet.ts';

export function eapMessageAttributes(eap: Uint8Array): RadiusAttribute[] {
  if (eap.length === 0) throw new RangeError('an empty EAP packet');
  const out: RadiusAttribute[] = [];
  for (let at = 0; at < eap.length; at += ATTRIBUTE_MAX_VALUE) out.push({ type: Attr.EapMessage, value: eap.subarray(at, at + ATTRIBUTE_MAX_VALUE) });
  return out;
}

/**
 * The EAP packet of a response, or undefined when there is none. The pieces are concatenated in
 * order; the result must be exactly one EAP packet, its Length (RFC 3748 §4) equal to the bytes.
 */
export function reassembleEapMessage(attributes: readonly RadiusAttribute[]): Decoded<Uint8Array | undefined> {
  const pieces = attributes.filter((a) => a.type === Attr.EapMessage).map((a) => a.value);
  if (pieces.length === 0) return ok(undefined);
  const eap = Buffer.concat(pieces);
  if (eap.length < 4) return fail('TRUNCATED', `EAP packet of ${eap.length} bytes`, 0);
  const length = eap.readUInt16BE(2);
  if (length !== eap.length) return fail('INVALID_SYNTAX', `EAP Length ${length} but ${eap.length} bytes in EAP-Message`, 2);
  return ok(new Uint8Array(eap.buffer, eap.byteOffset, eap.length));
}
